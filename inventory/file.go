package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"

	"github.com/meridianhq/meridian"
)

// FileReader is a Reader over a recorded inventory: a JSON array of
// meridian.LiveResource, as `meridian audit --format json` prints them
// under "resources" or a Reader returns them. `meridian audit --inventory
// DIR` audits offline from TARGET.json files; tests use it for fixtures.
type FileReader struct {
	FS   fs.FS
	Path string
}

// Resources implements Reader.
func (f FileReader) Resources(context.Context) ([]meridian.LiveResource, error) {
	b, err := fs.ReadFile(f.FS, f.Path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	rs, err := ParseResources(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	return rs, nil
}

var liveKinds = []string{meridian.LiveBucket, meridian.LiveKey, meridian.LiveLogStore, meridian.LiveVM,
	meridian.LiveCluster, meridian.LiveResourceGroup, meridian.LiveNamespace, meridian.LiveWorkload}

// ParseResources decodes a recorded inventory strictly: unknown fields,
// unknown kinds and providers, resources without an ID and negative
// retention are errors that name the resource's index.
func ParseResources(b []byte) ([]meridian.LiveResource, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rs []meridian.LiveResource
	if err := dec.Decode(&rs); err != nil {
		return nil, fmt.Errorf("decode inventory: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode inventory: data after the array")
	}
	for i, r := range rs {
		switch {
		case r.ID == "":
			return nil, fmt.Errorf("resource %d: id: required", i)
		case !slices.Contains(liveKinds, r.Kind):
			return nil, fmt.Errorf("resource %d (%s): kind: must be one of %v, got %q", i, r.ID, liveKinds, r.Kind)
		case r.Provider != "" && !r.Provider.Valid():
			return nil, fmt.Errorf("resource %d (%s): provider: unknown provider %q", i, r.ID, r.Provider)
		case r.RetentionDays < 0:
			return nil, fmt.Errorf("resource %d (%s): retention_days: must not be negative, got %d", i, r.ID, r.RetentionDays)
		}
	}
	return rs, nil
}
