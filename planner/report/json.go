package report

import (
	"encoding/json"
	"io"

	"github.com/meridianhq/meridian"
)

// JSON writes the plan as one indented JSON document.
func JSON(w io.Writer, p *meridian.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}
