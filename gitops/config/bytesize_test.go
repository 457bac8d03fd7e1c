package config

import (
	"strconv"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	cases := map[string]struct {
		in   string
		want int64
		ok   bool
	}{
		"bytes":       {in: "1024", want: 1024, ok: true},
		"KB":          {in: "512KB", want: 512 << 10, ok: true},
		"MB":          {in: "64MB", want: 64 << 20, ok: true},
		"MiB, spaced": {in: "64 MiB", want: 64 << 20, ok: true},
		"lower gb":    {in: "1gb", want: 1 << 30, ok: true},
		"no number":   {in: "MB"},
		"negative":    {in: "-1MB"},
		"fraction":    {in: "1.5MB"},
		"unknown":     {in: "3 parsecs"},
		"overflow":    {in: "9223372036854775807GB"},
		"empty":       {in: ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseByteSize(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseByteSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseByteSize: sizes come from meridian.yaml, which a pull request
// writes. No panic, no negative or wrapped-around size.
func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"1", "64MB", "1 GiB", "99999999999999999999", "9223372036854775807GB", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseByteSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseByteSize(%q) = %d", s, n)
		}
		if plain, perr := strconv.ParseInt(s, 10, 64); perr == nil && plain != n {
			t.Fatalf("parseByteSize(%q) = %d, want %d bytes", s, n, plain)
		}
	})
}
