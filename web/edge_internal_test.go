package web

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPreferWait(t *testing.T) {
	cases := map[string]struct {
		header string
		want   time.Duration
	}{
		"OPA's header":         {"modes=snapshot,delta;wait=30", 30 * time.Second},
		"alone":                {"wait=5", 5 * time.Second},
		"spaces and case":      {"respond-async; Wait = 7", 7 * time.Second},
		"capped":               {"wait=3600", time.Minute},
		"huge":                 {"wait=99999999999999999999", 0},
		"negative":             {"wait=-1", 0},
		"not a number":         {"wait=soon", 0},
		"no wait":              {"modes=snapshot", 0},
		"empty":                {"", 0},
		"quoted, as RFC 7240":  {`wait="12"`, 12 * time.Second},
		"first wait wins":      {"wait=2;wait=9", 2 * time.Second},
		"other preference key": {"waiting=4", 0},
	}
	for name, tc := range cases {
		if got := preferWait(tc.header, time.Minute); got != tc.want {
			t.Errorf("%s: preferWait(%q) = %s, want %s", name, tc.header, got, tc.want)
		}
	}
}

func TestIfNoneMatch(t *testing.T) {
	got := ifNoneMatch(` "a", W/"b" ,, "c"`)
	if diff := cmp.Diff([]string{`"a"`, `"b"`, `"c"`}, got); diff != "" {
		t.Errorf("ifNoneMatch (-want +got):\n%s", diff)
	}
	if got := ifNoneMatch(""); got != nil {
		t.Errorf("empty header: %q", got)
	}
}
