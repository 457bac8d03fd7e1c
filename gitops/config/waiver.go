package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/meridianhq/meridian"
)

// WaiversDir holds the waivers of a config repo, one or more Waiver
// documents per file.
const WaiversDir = "waivers"

// waivers loads waivers/*.yaml into the config. A waiver's expiry is
// checked against the wall clock: only "at most one year away" depends on
// it, and an expired waiver is valid config (the finding says it expired).
func (l *loader) waivers() error {
	files, err := l.walk(WaiversDir, ".yaml", ".yml")
	if err != nil {
		return err
	}
	now := time.Now()
	for _, f := range files {
		b, err := l.read(f)
		if err != nil {
			return err
		}
		if b == nil {
			continue
		}
		ws, errs := ParseWaivers(f.path, b, now)
		l.cfg.Waivers = append(l.cfg.Waivers, ws...)
		l.errs = append(l.errs, errs...)
	}
	return nil
}

// waiverDoc is a waiver document's plain fields; expires is read apart,
// because YAML reads an unquoted date as a timestamp, not a string.
type waiverDoc struct {
	Rule     string `json:"rule"`
	Workload string `json:"workload"`
	Target   string `json:"target"`
	Reason   string `json:"reason"`
	Owner    string `json:"owner"`
	Expires  string `json:"expires"`
}

// ParseWaivers parses the Waiver documents of file p (a path relative to
// the config root, for messages) and checks them against now: rule,
// reason, owner and expires are required, a waiver names a workload, a
// target or both, expires is a date at most one year after now, and a rule
// that decides placement cannot be waived. It returns the valid waivers
// and a ConfigError (file, line, field) for every problem.
func ParseWaivers(p string, b []byte, now time.Time) ([]meridian.Waiver, meridian.ConfigErrors) {
	var errs meridian.ConfigErrors
	add := func(line int, field, format string, args ...any) {
		errs = append(errs, meridian.ConfigError{File: p, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var out []meridian.Waiver
	docs, bad := eachDocument(b, func(root *yaml.Node) {
		n := len(errs)
		w := parseWaiver(p, root, now, &errs)
		if len(errs) == n && w != nil {
			out = append(out, *w)
		}
	})
	if bad != nil {
		add(bad.line, "", "YAML syntax error: %s", bad.msg)
		return nil, errs // the rest of this file cannot be trusted
	}
	if docs == 0 {
		add(1, "", "empty file: expected a %s document", meridian.KindWaiver)
	}
	return out, errs
}

func parseWaiver(p string, root *yaml.Node, now time.Time, errs *meridian.ConfigErrors) *meridian.Waiver {
	add := func(line int, field, format string, args ...any) {
		*errs = append(*errs, meridian.ConfigError{File: p, Line: line, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if root.Kind != yaml.MappingNode {
		add(root.Line, "", "a document must be a mapping, got %s", describe(root))
		return nil
	}
	header := map[string]*yaml.Node{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i].Value; k == "apiVersion" || k == "kind" {
			header[k] = root.Content[i+1]
		}
	}
	switch v := header["apiVersion"]; {
	case v == nil:
		add(root.Line, "apiVersion", "required, must be %q", meridian.APIVersion)
		return nil
	case v.Value != meridian.APIVersion:
		add(v.Line, "apiVersion", "must be %q, got %q", meridian.APIVersion, v.Value)
		return nil
	}
	switch k := header["kind"]; {
	case k == nil:
		add(root.Line, "kind", "required, must be %q here", meridian.KindWaiver)
		return nil
	case k.Value != meridian.KindWaiver:
		add(k.Line, "kind", "must be %q in %s/, got %q", meridian.KindWaiver, WaiversDir, k.Value)
		return nil
	}

	origin := meridian.Origin{File: p, Line: root.Line, Lines: map[string]int{}}
	d := &decoder{file: p, errs: errs, lines: origin.Lines}
	var doc waiverDoc
	n := len(*errs)
	d.decode(root, reflect.ValueOf(&doc).Elem(), "", map[string]bool{"apiVersion": true, "kind": true, "expires": true})
	var expires *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value == "expires" {
			if expires != nil {
				add(k.Line, "expires", "duplicate field")
				continue
			}
			expires = root.Content[i+1]
			origin.Lines["expires"] = k.Line
		}
	}
	if len(*errs) > n {
		return nil
	}
	w := meridian.Waiver{Rule: doc.Rule, Workload: doc.Workload, Target: doc.Target, Reason: doc.Reason, Owner: doc.Owner, Origin: origin}
	line := origin.LineOf
	ok := true
	fail := func(field, format string, args ...any) {
		add(line(field), field, format, args...)
		ok = false
	}
	if strings.TrimSpace(w.Rule) == "" {
		fail("rule", "required: the ID of the rule to waive, e.g. MER-TAG-001")
	} else if protects, placement := meridian.PlacementRule(w.Rule); placement {
		fail("rule", "%s decides placement (%s) and cannot be waived: it can only be fixed", w.Rule, protects)
	}
	if strings.TrimSpace(w.Workload) == "" && strings.TrimSpace(w.Target) == "" {
		fail("workload", "a waiver must name a workload, a target or both")
	}
	if strings.TrimSpace(w.Reason) == "" {
		fail("reason", "required: why the finding is accepted for now")
	}
	if strings.TrimSpace(w.Owner) == "" {
		fail("owner", "required: who answers for the waiver")
	}
	today := now.UTC().Truncate(24 * time.Hour)
	latest := today.AddDate(meridian.MaxWaiverYears, 0, 0)
	switch {
	case expires == nil || (expires.Kind == yaml.ScalarNode && expires.ShortTag() == "!!null"):
		fail("expires", "required: the last day the waiver holds, at most one year away (by %s)", latest.Format(time.DateOnly))
	case expires.Kind != yaml.ScalarNode || (expires.ShortTag() != "!!str" && expires.ShortTag() != "!!timestamp"):
		fail("expires", "must be a date such as %s, got %s", latest.Format(time.DateOnly), describe(expires))
	default:
		t, err := time.Parse(time.DateOnly, expires.Value)
		switch {
		case err != nil:
			fail("expires", "must be a date such as %s, got %q", latest.Format(time.DateOnly), expires.Value)
		case t.After(latest):
			fail("expires", "must be at most one year away (by %s), got %s", latest.Format(time.DateOnly), expires.Value)
		default:
			w.Expires = t
		}
	}
	if !ok {
		return nil
	}
	return &w
}
