package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/meridianhq/meridian"
)

// JSON writes the plan as one indented JSON document (docs/plan-json.md).
// The bytes are those of encoding/json's indented encoding of the whole
// plan, but the long lists (placements, unplaceable workloads, findings)
// are encoded one element at a time into a buffered writer, so that
// memory stays flat however large the plan: a plan of 10,000 workloads
// is tens of megabytes of JSON, which need never be held at once.
func JSON(w io.Writer, p *meridian.Plan) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	head := *p
	head.Placements, head.Unplaceable, head.Findings = nil, nil, nil
	doc, err := json.MarshalIndent(&head, "", "  ")
	if err != nil {
		return err
	}
	lists := []struct {
		key string
		n   int
		nil bool
		enc func(e *json.Encoder, i int) error
	}{
		{"placements", len(p.Placements), p.Placements == nil, func(e *json.Encoder, i int) error { return e.Encode(&p.Placements[i]) }},
		{"unplaceable", len(p.Unplaceable), p.Unplaceable == nil, func(e *json.Encoder, i int) error { return e.Encode(&p.Unplaceable[i]) }},
		{"findings", len(p.Findings), p.Findings == nil, func(e *json.Encoder, i int) error { return e.Encode(&p.Findings[i]) }},
	}
	var elem bytes.Buffer
	enc := json.NewEncoder(&elem)
	enc.SetIndent("    ", "  ")
	for _, l := range lists {
		// The list's key is a line of its own at depth 1, its value null:
		// strings never hold a raw newline, so this cannot match inside one.
		mark := []byte("\n  \"" + l.key + "\": null")
		at := bytes.Index(doc, mark)
		if at < 0 {
			return fmt.Errorf("plan JSON: no %q key", l.key)
		}
		bw.Write(doc[:at+len(mark)-len("null")])
		doc = doc[at+len(mark):]
		switch {
		case l.nil:
			bw.WriteString("null")
			continue
		case l.n == 0:
			bw.WriteString("[]")
			continue
		}
		bw.WriteString("[")
		for i := range l.n {
			elem.Reset()
			if err := l.enc(enc, i); err != nil {
				return err
			}
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			bw.Write(bytes.TrimSuffix(elem.Bytes(), []byte("\n")))
		}
		bw.WriteString("\n  ]")
	}
	bw.Write(doc)
	bw.WriteString("\n")
	return bw.Flush()
}
