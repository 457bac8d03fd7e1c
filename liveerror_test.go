package meridian_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/meridianhq/meridian"
)

func TestLiveReadErrors(t *testing.T) {
	denied := errors.New("permission denied")
	kms := &meridian.LiveReadError{Provider: meridian.ProviderGCP, Account: "p", Service: "cloudkms", Kinds: []string{meridian.LiveKey}, Err: denied}
	logs := &meridian.LiveReadError{Provider: meridian.ProviderGCP, Account: "p", Service: "logging", Kinds: []string{meridian.LiveLogStore}, Err: denied}
	cases := map[string]struct {
		reason string
		err    error
		want   []*meridian.LiveReadError
	}{
		"nil":    {reason: "a complete inventory has no failures", err: nil},
		"other":  {reason: "an error that is no LiveReadError names no failed service", err: denied},
		"single": {reason: "one failed service", err: kms, want: []*meridian.LiveReadError{kms}},
		"joined": {reason: "readers join one error per failed service", err: errors.Join(kms, logs), want: []*meridian.LiveReadError{kms, logs}},
		"wrapped join": {
			reason: "a caller may add context around the joined errors",
			err:    fmt.Errorf("audit target t: %w", errors.Join(kms, errors.New("unrelated"), fmt.Errorf("retry: %w", logs))),
			want:   []*meridian.LiveReadError{kms, logs},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := meridian.LiveReadErrors(tc.err)
			if len(got) != len(tc.want) {
				t.Fatalf("%s: got %d errors %v, want %d", tc.reason, len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("%s: error %d = %v, want %v", tc.reason, i, got[i], tc.want[i])
				}
			}
		})
	}
	if !errors.Is(kms, denied) {
		t.Error("a LiveReadError does not unwrap to its cause")
	}
	if got, want := kms.Error(), "gcp inventory of p: cloudkms: permission denied"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
