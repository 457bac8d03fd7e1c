package alerting

import (
	"errors"
	"os"
	"testing"

	"github.com/meridianhq/meridian"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	if b, err := os.ReadFile("testdata/alerting.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("apiVersion: meridian/v1\nkind: Alerting\nsinks: [{name: a, type: email, to: [x], port: 99999}]\nroutes: [{sinks: [a], rules: ['[']}]\n"))
	f.Add([]byte("apiVersion: meridian/v1\nkind: Alerting\nsinks: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(FileName, data)
		if err != nil {
			// Every problem names the file, so a user can find it.
			var ce meridian.ConfigErrors
			if !errors.As(err, &ce) || len(ce) == 0 {
				t.Fatalf("error %T is not ConfigErrors: %v", err, err)
			}
			for _, e := range ce {
				if e.File != FileName || e.Message == "" {
					t.Fatalf("error without file or message: %+v", e)
				}
			}
			return
		}
		// What Parse accepts must be usable: every route names sinks that
		// exist and has positive timings.
		for _, r := range append(c.Routes, derefRoute(c.Default)...) {
			for _, s := range r.Sinks {
				if _, ok := c.Sink(s); !ok {
					t.Fatalf("route %s names missing sink %q", r.ID, s)
				}
			}
			if r.GroupWait <= 0 || r.GroupInterval <= 0 || r.RepeatInterval <= 0 {
				t.Fatalf("route %s has a non-positive timing: %+v", r.ID, r)
			}
			r.GroupKey(meridian.Alert{})
		}
	})
}

func derefRoute(r *Route) []Route {
	if r == nil {
		return nil
	}
	return []Route{*r}
}
