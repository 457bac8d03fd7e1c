package policies

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/meridianhq/meridian"
)

// The documents below are what Rego sees. They are the encoding/json form
// of the domain types, with a few normalisations so that policies need not
// guard against null: tags, labels, required_tags and tag_formats are
// always present, possibly empty.

// workloadDoc returns input.workload for w.
func workloadDoc(w *meridian.Workload) (map[string]any, error) {
	doc, err := jsonDoc(w)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	if doc["tags"] == nil {
		doc["tags"] = map[string]any{}
	}
	return doc, nil
}

// targetDoc returns input.target for t, with the computed
// encryption_level, so that rules compare one ordered value instead of
// re-deriving it from the encryption block.
func targetDoc(t *meridian.Target) (map[string]any, error) {
	doc, err := jsonDoc(t)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	doc["encryption_level"] = t.Encryption.Level().String()
	if doc["labels"] == nil {
		doc["labels"] = map[string]any{}
	}
	return doc, nil
}

// settingsDoc returns input.settings: the parts of meridian.yaml that
// policies use.
func settingsDoc(s meridian.Settings) map[string]any {
	tags := make([]any, len(s.RequiredTags))
	for i, t := range s.RequiredTags {
		tags[i] = t
	}
	formats := make(map[string]any, len(s.TagFormats))
	for k, v := range s.TagFormats {
		formats[k] = v
	}
	return map[string]any{"required_tags": tags, "tag_formats": formats}
}

// jsonDoc round-trips v through encoding/json, keeping numbers exact.
func jsonDoc(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return doc, nil
}
