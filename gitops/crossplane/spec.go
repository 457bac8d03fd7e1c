package crossplane

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// maxDiffs bounds how many changed fields one record lists.
const maxDiffs = 5

// fieldDiff is one rendered field that holds another value in the cluster.
type fieldDiff struct {
	path, want, got string
}

// specDiff compares what Meridian rendered with what the cluster holds:
// every field below spec that Meridian rendered, and the external-name
// annotation when Meridian set it. Fields Meridian leaves unset are the
// API server's defaults (providerConfigRef, managementPolicies, initProvider)
// or the provider's late initialization, so they are ignored rather than
// reported; lists must keep their length, as a provider never adds items
// to a rendered list.
func specDiff(want, got *unstructured.Unstructured) []fieldDiff {
	var out []fieldDiff
	if w, ok := externalName(want); ok {
		if g, _ := externalName(got); g != w {
			out = append(out, fieldDiff{"metadata.annotations[crossplane.io/external-name]", quote(w), quoteOrUnset(g, g != "")})
		}
	}
	compare("spec", want.Object["spec"], got.Object["spec"], true, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	if len(out) > maxDiffs {
		n := len(out) - maxDiffs
		out = append(out[:maxDiffs], fieldDiff{fmt.Sprintf("(%d more)", n), "…", "…"})
	}
	return out
}

func compare(path string, want, got any, present bool, out *[]fieldDiff) {
	if !present {
		*out = append(*out, fieldDiff{path, render(want), "(unset)"})
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fieldDiff{path, render(want), render(got)})
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			compare(path+"."+k, wv, gv, ok, out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fieldDiff{path, render(want), render(got)})
			return
		}
		for i := range w {
			compare(path+"["+strconv.Itoa(i)+"]", w[i], g[i], true, out)
		}
	default:
		if !scalarEqual(want, got) {
			*out = append(*out, fieldDiff{path, render(want), render(got)})
		}
	}
}

// scalarEqual compares leaves; numbers compare by value, since YAML, JSON
// and the API server disagree on int64 against float64.
func scalarEqual(a, b any) bool {
	fa, aNum := number(a)
	fb, bNum := number(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	return a == b
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func render(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func quote(s string) string { return strconv.Quote(s) }

func quoteOrUnset(s string, set bool) string {
	if !set {
		return "(unset)"
	}
	return quote(s)
}
