package meridian

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestFingerprint(t *testing.T) {
	base := Finding{Rule: "MER-TAG-001", Severity: SeverityDeny, Workload: "api", Field: "tags.owner",
		File: "workloads/api.yaml", Line: 3, Message: `missing required tag "owner"`}
	cases := map[string]struct {
		reason string
		change func(f *Finding)
		same   bool
	}{
		"line":     {"lines move with every edit above the finding", func(f *Finding) { f.Line = 40 }, true},
		"file":     {"a renamed file keeps its workload's findings", func(f *Finding) { f.File = "workloads/x/api.yaml" }, true},
		"message":  {"a reworded message is the same problem", func(f *Finding) { f.Message = "other" }, true},
		"severity": {"a rule's severity change keeps the record", func(f *Finding) { f.Severity = SeverityWarn }, true},
		"rule":     {"another rule is another finding", func(f *Finding) { f.Rule = "MER-TAG-002" }, false},
		"workload": {"another workload is another finding", func(f *Finding) { f.Workload = "web" }, false},
		"target":   {"a placement finding per target", func(f *Finding) { f.Target = "aws-eu" }, false},
		"field":    {"a missing cost-center is not a missing owner", func(f *Finding) { f.Field = "tags.cost-center" }, false},
		"shifted":  {"parts cannot run into each other", func(f *Finding) { f.Workload, f.Field = "api"+"tags.owner", "" }, false},
	}
	want := Fingerprint(base)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(want) {
		t.Fatalf("Fingerprint = %q, want 64 hex digits", want)
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := base
			tc.change(&f)
			if got := Fingerprint(f); (got == want) != tc.same {
				t.Errorf("%s: same fingerprint = %t, want %t", tc.reason, got == want, tc.same)
			}
		})
	}
}

func TestWaiver(t *testing.T) {
	exp := time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)
	f := Finding{Rule: "MER-TAG-001", Workload: "api", Target: "aws-eu"}
	cases := map[string]struct {
		reason  string
		w       Waiver
		now     time.Time
		matches bool
		expired bool
	}{
		"workload":       {"a workload waiver covers every target", Waiver{Rule: "MER-TAG-001", Workload: "api", Expires: exp}, exp, true, false},
		"target":         {"a target waiver covers every workload", Waiver{Rule: "MER-TAG-001", Target: "aws-eu", Expires: exp}, exp, true, false},
		"both":           {"both must match", Waiver{Rule: "MER-TAG-001", Workload: "api", Target: "gcp", Expires: exp}, exp, false, false},
		"rule":           {"another rule is not waived", Waiver{Rule: "MER-TAG-002", Workload: "api", Expires: exp}, exp, false, false},
		"last day":       {"the expiry day itself still holds", Waiver{Rule: "MER-TAG-001", Workload: "api", Expires: exp}, exp.Add(23*time.Hour + 59*time.Minute), true, false},
		"day after":      {"the waiver ends at midnight UTC after its expiry day", Waiver{Rule: "MER-TAG-001", Workload: "api", Expires: exp}, exp.AddDate(0, 0, 1), true, true},
		"other timezone": {"expiry is judged in UTC", Waiver{Rule: "MER-TAG-001", Workload: "api", Expires: exp}, time.Date(2027, 3, 31, 20, 0, 0, 0, time.FixedZone("x", -8*3600)), true, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := tc.w.Matches(f); got != tc.matches {
				t.Errorf("%s: Matches = %t, want %t", tc.reason, got, tc.matches)
			}
			if got := tc.w.Expired(tc.now); got != tc.expired {
				t.Errorf("%s: Expired(%s) = %t, want %t", tc.reason, tc.now, got, tc.expired)
			}
		})
	}
}

// TestPlacementRulesMatchBuiltins keeps PlacementRule in step with the
// built-in placement policies: every rule there cannot be waived, and
// nothing else is on the list.
func TestPlacementRulesMatchBuiltins(t *testing.T) {
	ids := map[string]bool{}
	re := regexp.MustCompile(`(?m)^#\s+id:\s+(\S+)`)
	files, err := filepath.Glob(filepath.Join("policies", "builtin", "*", "*", "*.rego"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no built-in policies found: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			id := string(m[1])
			placement := filepath.Base(filepath.Dir(filepath.Dir(f))) == "placement"
			if _, ok := PlacementRule(id); ok != placement {
				t.Errorf("%s: PlacementRule(%s) = %t, want %t", f, id, ok, placement)
			}
			ids[id] = true
		}
	}
	for _, id := range []string{"MER-ENC-001", "MER-JUR-001", "MER-DATA-001", "MER-RET-001"} {
		if !ids[id] {
			t.Errorf("PlacementRule lists %s, which no built-in policy declares", id)
		}
	}
}
