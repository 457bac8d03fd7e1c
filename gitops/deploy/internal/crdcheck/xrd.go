package crdcheck

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// CRDFromXRD builds the CustomResourceDefinition that Crossplane v2 would
// generate for a namespaced CompositeResourceDefinition, as far as
// validation of composite resources goes: the XRD's own schema plus the
// spec.crossplane block of machinery fields Meridian writes
// (compositionRef). Crossplane itself cannot run here (no provider or
// function images), so tests install this CRD instead.
func CRDFromXRD(xrdYAML []byte) ([]byte, error) {
	var xrd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind   string `json:"kind"`
				Plural string `json:"plural"`
			} `json:"names"`
			Scope    string `json:"scope"`
			Versions []struct {
				Name          string `json:"name"`
				Served        bool   `json:"served"`
				Referenceable bool   `json:"referenceable"`
				Schema        struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(xrdYAML, &xrd); err != nil {
		return nil, fmt.Errorf("parse XRD: %w", err)
	}
	s := xrd.Spec
	scope := "Namespaced"
	if s.Scope == "Cluster" || s.Scope == "LegacyCluster" {
		scope = "Cluster"
	}
	var versions []any
	for _, v := range s.Versions {
		root := v.Schema.OpenAPIV3Schema
		props, _ := root["properties"].(map[string]any)
		if props == nil {
			props = map[string]any{}
			root["properties"] = props
		}
		spec, _ := props["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{"type": "object"}
			props["spec"] = spec
		}
		sp, _ := spec["properties"].(map[string]any)
		if sp == nil {
			sp = map[string]any{}
			spec["properties"] = sp
		}
		ref := map[string]any{"type": "object", "required": []any{"name"}, "properties": map[string]any{"name": map[string]any{"type": "string"}}}
		sp["crossplane"] = map[string]any{
			"type": "object",
			"properties": map[string]any{
				"compositionRef": ref,
				"compositionSelector": map[string]any{"type": "object", "required": []any{"matchLabels"}, "properties": map[string]any{
					"matchLabels": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				}},
				"compositionUpdatePolicy": map[string]any{"type": "string", "enum": []any{"Automatic", "Manual"}},
			},
		}
		props["status"] = map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
		versions = append(versions, map[string]any{
			"name": v.Name, "served": v.Served, "storage": v.Referenceable,
			"schema":       map[string]any{"openAPIV3Schema": root},
			"subresources": map[string]any{"status": map[string]any{}},
		})
	}
	crd := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": s.Names.Plural + "." + s.Group},
		"spec": map[string]any{
			"group":    s.Group,
			"names":    map[string]any{"kind": s.Names.Kind, "plural": s.Names.Plural, "listKind": s.Names.Kind + "List", "singular": lower(s.Names.Kind)},
			"scope":    scope,
			"versions": versions,
		},
	}
	return yaml.Marshal(crd)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
