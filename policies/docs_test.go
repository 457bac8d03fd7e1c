package policies

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// TestDocsExamples compiles the example policies in docs/policies.md (the
// rego blocks whose first line names their file, "# policies/...") and
// runs their tests, so the documentation cannot drift from the contract.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/policies.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)```rego\n# (policies/[^\n]+)\n(.*?)```")
	org := map[string]string{}
	for _, m := range block.FindAllStringSubmatch(string(doc), -1) {
		org[m[1]] = m[2]
	}
	if len(org) < 4 {
		t.Fatalf("found %d example files in docs/policies.md, want at least 4", len(org))
	}
	ctx := context.Background()
	e, err := New(ctx, meridian.DefaultSettings(), org)
	if err != nil {
		t.Fatalf("docs examples do not compile: %v", err)
	}
	results, err := RunTests(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, r := range results {
		if r.Builtin {
			continue
		}
		ran++
		if r.Outcome != OutcomePass {
			t.Errorf("%s:%d: %s: %s %s%s", r.File, r.Line, r.Name, r.Outcome, r.Error, r.Explanation)
		}
	}
	if ran == 0 {
		t.Error("docs examples have no tests")
	}

	// The examples fire as described.
	w := apiWorkload()
	w.Tags["gdpr"] = "yes"
	tg := euTarget()
	tg.Jurisdiction = "us"
	got, err := e.CheckPlacements(ctx, []meridian.Workload{w}, []meridian.Target{tg})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range got[0][0] {
		ids = append(ids, v.Rule)
	}
	if s := strings.Join(ids, ","); s != "MER-JUR-001,ORG-GDPR-001" {
		t.Errorf("docs placement example: got violations %s", s)
	}
	fs, err := e.CheckWorkloads(ctx, []meridian.Workload{w})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Rule != "ORG-ONCALL-001" || fs[0].Severity != meridian.SeverityWarn {
		t.Errorf("docs workload example: got %+v", fs)
	}
}
