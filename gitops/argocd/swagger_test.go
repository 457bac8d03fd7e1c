package argocd_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/meridianhq/meridian/gitops/argocd"
)

// swaggerSchema is the part of a Swagger 2.0 schema this check reads.
type swaggerSchema struct {
	Type                 string                    `json:"type"`
	Ref                  string                    `json:"$ref"`
	Properties           map[string]*swaggerSchema `json:"properties"`
	Items                *swaggerSchema            `json:"items"`
	AdditionalProperties *swaggerSchema            `json:"additionalProperties"`
}

// TestTypesMatchSwagger walks every field of the client's types and checks
// that Argo CD's API description has a property of that name and a
// compatible type, following $refs. A misspelt JSON tag would otherwise
// silently read nothing from a real server.
func TestTypesMatchSwagger(t *testing.T) {
	var doc struct {
		Definitions map[string]*swaggerSchema `json:"definitions"`
	}
	if err := json.Unmarshal(readFile(t, "swagger.json"), &doc); err != nil {
		t.Fatal(err)
	}
	c := &swaggerCheck{defs: doc.Definitions, seen: map[string]bool{}}
	for def, v := range map[string]any{
		"v1alpha1Application":               argocd.Application{},
		"v1alpha1ApplicationList":           argocd.ApplicationList{},
		"applicationApplicationSyncRequest": argocd.SyncRequest{},
	} {
		c.check(def, reflect.TypeOf(v), &swaggerSchema{Ref: "#/definitions/" + def})
	}
	sort.Strings(c.errs)
	for _, e := range c.errs {
		t.Error(e)
	}
	if len(c.seen) < 15 {
		t.Errorf("checked only %d definitions; the walk is broken", len(c.seen))
	}
}

type swaggerCheck struct {
	defs map[string]*swaggerSchema
	seen map[string]bool
	errs []string
}

func (c *swaggerCheck) resolve(s *swaggerSchema) (*swaggerSchema, string) {
	name := ""
	for s != nil && s.Ref != "" {
		name = strings.TrimPrefix(s.Ref, "#/definitions/")
		s = c.defs[name]
	}
	return s, name
}

func (c *swaggerCheck) check(path string, t reflect.Type, s *swaggerSchema) {
	s, def := c.resolve(s)
	if s == nil {
		c.errs = append(c.errs, fmt.Sprintf("%s: no schema", path))
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(json.RawMessage(nil)):
		if def != "runtimeRawExtension" {
			c.errs = append(c.errs, fmt.Sprintf("%s: raw JSON field, swagger has %s", path, def))
		}
		return
	case t == reflect.TypeOf(argocd.IntOrText(0)):
		if def != "intstrIntOrString" && s.Type != "integer" {
			c.errs = append(c.errs, fmt.Sprintf("%s: int-or-string field, swagger has %s %s", path, def, s.Type))
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		c.want(path, s, "string")
	case reflect.Bool:
		c.want(path, s, "boolean")
	case reflect.Int, reflect.Int64:
		c.want(path, s, "integer")
	case reflect.Slice:
		c.want(path, s, "array")
		if s.Items != nil {
			c.check(path+"[]", t.Elem(), s.Items)
		}
	case reflect.Map:
		c.want(path, s, "object")
		if s.AdditionalProperties == nil {
			c.errs = append(c.errs, fmt.Sprintf("%s: map field, swagger object has no additionalProperties", path))
			return
		}
		c.check(path+"{}", t.Elem(), s.AdditionalProperties)
	case reflect.Struct:
		if def != "" {
			if c.seen[def+" "+t.Name()] {
				return
			}
			c.seen[def+" "+t.Name()] = true
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			p, ok := s.Properties[name]
			if !ok {
				// Kubernetes list and object types carry apiVersion and kind
				// on the wire although Argo CD's swagger leaves them out.
				if name == "apiVersion" || name == "kind" {
					continue
				}
				c.errs = append(c.errs, fmt.Sprintf("%s.%s: swagger definition %s has no property %q", path, name, def, name))
				continue
			}
			c.check(path+"."+name, f.Type, p)
		}
	default:
		c.errs = append(c.errs, fmt.Sprintf("%s: unchecked Go kind %s", path, t.Kind()))
	}
}

func (c *swaggerCheck) want(path string, s *swaggerSchema, typ string) {
	if s.Type != typ {
		c.errs = append(c.errs, fmt.Sprintf("%s: Go type needs %s, swagger says %q", path, typ, s.Type))
	}
}
