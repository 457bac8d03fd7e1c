package web

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	cases := map[string]struct {
		in   string
		want string
	}{
		"Short":   {"GET /api/v1/plans", "GET /api/v1/plans"},
		"AtCap":   {strings.Repeat("a", maxEcho), strings.Repeat("a", maxEcho)},
		"OverCap": {strings.Repeat("a", maxEcho+1), strings.Repeat("a", maxEcho) + "…(201 bytes)"},
		"Huge":    {strings.Repeat("b", 600<<10), strings.Repeat("b", maxEcho) + "…(614400 bytes)"},
		"MidRune": {strings.Repeat("a", maxEcho-1) + "é" + "zz", strings.Repeat("a", maxEcho-1) + "…(203 bytes)"},
		"Empty":   {"", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := clip(tc.in)
			if got != tc.want {
				t.Errorf("clip = %.80q…, want %.80q…", got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("clip cut a rune in half")
			}
		})
	}
}

func TestLabels(t *testing.T) {
	for in, want := range map[string]string{"ping": "ping", "push": "push", "pull_request": "pull_request",
		"issues": "other", "": "other", "PUSH": "other", strings.Repeat("x", 1000): "other"} {
		if got := eventLabel(in); got != want {
			t.Errorf("eventLabel(%.20q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "other", "PROPFIND": "other", "": "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLimiterBounded: clients spread over many addresses cannot grow the
// failure limiter without bound; the newest offenders stay limited.
func TestLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newFailureLimiter(time.Hour, 1, func() time.Time { return now })
	l.max = 100
	for i := range 1000 {
		l.fail(fmt.Sprintf("10.0.%d.%d", i/256, i%256))
	}
	if n := l.tracked(); n > 100 {
		t.Errorf("tracking %d clients, cap 100", n)
	}
	if _, limited := l.blocked("10.0.3.231"); !limited {
		t.Errorf("the newest offender was evicted")
	}
	if _, limited := l.blocked("10.0.0.0"); limited {
		t.Errorf("the oldest offender should have been evicted")
	}
	// A repeat offender moves to the back and outlives newer ones.
	l.fail("10.0.0.5")
	l.fail("10.0.3.200")
	for i := range 99 {
		l.fail(fmt.Sprintf("192.168.0.%d", i))
	}
	if _, limited := l.blocked("10.0.3.200"); !limited {
		t.Errorf("a client that failed again was evicted before newer ones")
	}
}

func TestPageLimitNeverOverflows(t *testing.T) {
	cases := map[string]struct {
		p    page
		want int
	}{
		"First":    {page{size: 50}, 51},
		"Deep":     {page{size: 500, offset: maxPageOffset}, maxPageOffset + 501},
		"Overflow": {page{size: 500, offset: math.MaxInt - 10}, math.MaxInt},
		"MaxInt":   {page{size: 1, offset: math.MaxInt}, math.MaxInt},
	}
	for name, tc := range cases {
		if got := tc.p.limit(); got != tc.want {
			t.Errorf("%s: limit() = %d, want %d", name, got, tc.want)
		}
	}
}
