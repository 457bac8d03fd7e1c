package policies

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
)

// orgRule is an org placement rule with tests of every outcome.
var orgRule = map[string]string{
	"policies/eu.rego": `package meridian.org.placement.eu

deny contains {"id": "ORG-EU-1", "msg": "gdpr workloads stay in the eu", "field": "tags.gdpr"} if {
	input.workload.tags.gdpr == "yes"
	input.target.jurisdiction != "eu"
}
`,
	"policies/eu_test.rego": `package meridian.org.placement.eu_test

import data.meridian.org.placement.eu
import data.meridian.builtin.placement.jurisdiction

test_us_denied if {
	r := eu.deny with input as {"workload": {"tags": {"gdpr": "yes"}}, "target": {"jurisdiction": "us"}}
	r == {{"id": "ORG-EU-1", "msg": "gdpr workloads stay in the eu", "field": "tags.gdpr"}}
}

test_builtins_are_visible if {
	r := jurisdiction.deny with input as {"workload": {"requires": {"jurisdictions": ["eu"]}}, "target": {"jurisdiction": "us"}}
	count(r) == 1
}

test_wrong_expectation if {
	print("checking eu target")
	r := eu.deny with input as {"workload": {"tags": {"gdpr": "yes"}}, "target": {"jurisdiction": "eu"}}
	count(r) == 1
}

test_error if {
	_conflict(true) == 1
}

_conflict(x) := 1 if x

_conflict(x) := 2 if x

todo_test_later if {
	false
}
`,
}

func TestRunTestsOrg(t *testing.T) {
	results, err := RunTests(context.Background(), orgRule)
	if err != nil {
		t.Fatal(err)
	}
	var got []TestResult
	builtin := 0
	for _, r := range results {
		if r.Builtin {
			builtin++
			continue
		}
		got = append(got, r)
	}
	if builtin == 0 {
		t.Error("RunTests did not run the built-in tests")
	}
	want := []TestResult{
		{Package: "meridian.org.placement.eu_test", Name: "test_us_denied", File: "policies/eu_test.rego", Line: 6, Outcome: OutcomePass},
		{Package: "meridian.org.placement.eu_test", Name: "test_builtins_are_visible", File: "policies/eu_test.rego", Line: 11, Outcome: OutcomePass},
		{Package: "meridian.org.placement.eu_test", Name: "test_wrong_expectation", File: "policies/eu_test.rego", Line: 16, Outcome: OutcomeFail,
			Output: "checking eu target\n"},
		{Package: "meridian.org.placement.eu_test", Name: "test_error", File: "policies/eu_test.rego", Line: 22, Outcome: OutcomeError},
		{Package: "meridian.org.placement.eu_test", Name: "todo_test_later", File: "policies/eu_test.rego", Line: 30, Outcome: OutcomeSkip},
	}
	opts := cmp.Options{cmpopts.IgnoreFields(TestResult{}, "Duration", "Error", "Explanation")}
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("RunTests org results: -want, +got:\n%s", diff)
	}
	for _, r := range got {
		switch r.Outcome {
		case OutcomeFail:
			if !strings.Contains(r.Explanation, "policies/eu_test.rego:19") {
				t.Errorf("%s: explanation %q does not show the failed expression", r.Name, r.Explanation)
			}
		case OutcomeError:
			if !strings.Contains(r.Error, "eval_conflict_error") {
				t.Errorf("%s: error %q does not say what went wrong", r.Name, r.Error)
			}
		}
	}
}

func TestRunTestsCompileError(t *testing.T) {
	_, err := RunTests(context.Background(), map[string]string{
		"policies/a_test.rego": "package meridian.org.placement.a_test\n\ntest_x if {\n\ty == 1\n}\n",
	})
	var got meridian.ConfigErrors
	if !errors.As(err, &got) {
		t.Fatalf("RunTests error = %v (%T), want ConfigErrors", err, err)
	}
	want := meridian.ConfigErrors{{File: "policies/a_test.rego", Line: 4, Message: "rego_unsafe_var_error: var y is unsafe"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunTests errors: -want, +got:\n%s", diff)
	}
}
