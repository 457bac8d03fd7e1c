package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meridianhq/meridian"
)

// policyRepo is an org policy with one passing and one failing test.
func policyRepo() map[string]string {
	return map[string]string{
		"policies/eu.rego": `package meridian.org.placement.eu

deny contains {"id": "ORG-EU-1", "msg": "gdpr data stays in the eu", "field": "tags.gdpr"} if {
	input.workload.tags.gdpr == "yes"
	input.target.jurisdiction != "eu"
}
`,
		"policies/eu_test.rego": `package meridian.org.placement.eu_test

import data.meridian.org.placement.eu

test_us_denied if {
	r := eu.deny with input as {"workload": {"tags": {"gdpr": "yes"}}, "target": {"jurisdiction": "us"}}
	count(r) == 1
}
`,
	}
}

func runPolicyTest(t *testing.T, pols map[string]string, loadErr error, args ...string) (stdout string, err error) {
	t.Helper()
	load := func(_ context.Context, repo string) (*meridian.Config, error) {
		if repo != "repo-dir" {
			t.Errorf("loader got repo %q, want repo-dir", repo)
		}
		if loadErr != nil {
			return nil, loadErr
		}
		return &meridian.Config{Settings: meridian.DefaultSettings(), Policies: pols}, nil
	}
	cmd := newPolicyCmd(load)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"test", "--repo", "repo-dir"}, args...))
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func exitCode(err error) int {
	var ee *exitErr
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	}
	return exitError
}

func TestPolicyTest(t *testing.T) {
	failing := policyRepo()
	failing["policies/eu_test.rego"] += `
test_eu_denied_by_mistake if {
	r := eu.deny with input as {"workload": {"tags": {"gdpr": "yes"}}, "target": {"jurisdiction": "eu"}}
	count(r) == 1
}
`
	cases := map[string]struct {
		reason   string
		pols     map[string]string
		loadErr  error
		args     []string
		wantCode int
		wantOut  []string
		wantErr  string
	}{
		"AllPass": {
			reason:   "Passing tests, built-in and org, exit 0 with a summary only.",
			pols:     policyRepo(),
			wantCode: exitOK,
			wantOut:  []string{"PASS: "},
		},
		"Verbose": {
			reason:   "-v lists passing org and built-in tests.",
			pols:     policyRepo(),
			args:     []string{"-v"},
			wantCode: exitOK,
			wantOut: []string{
				"PASS  policies/eu_test.rego:5: meridian.org.placement.eu_test.test_us_denied\n",
				"PASS  builtin:placement/encryption/encryption_test.rego:",
			},
		},
		"Failing": {
			reason:   "A failing test makes the command exit non-zero and shows where it failed.",
			pols:     failing,
			wantCode: exitError,
			wantOut: []string{
				"FAIL  policies/eu_test.rego:10: meridian.org.placement.eu_test.test_eu_denied_by_mistake\n",
				"policies/eu_test.rego:12",
				"FAIL: 1/",
			},
			wantErr: "1 of ",
		},
		"CompileError": {
			reason:   "A Rego error in an org policy is reported at file:line and exits non-zero.",
			pols:     map[string]string{"policies/bad.rego": "package meridian.org.workload.bad\n\ndeny contains f if {\n\tf := x\n}\n"},
			wantCode: exitError,
			wantErr:  "policies/bad.rego:4: rego_unsafe_var_error: var x is unsafe",
		},
		"ContractError": {
			reason:   "Contract errors that plan would report are reported by policy test too.",
			pols:     map[string]string{"policies/x.rego": "package team.rules\n"},
			wantCode: exitError,
			wantErr:  "policies/x.rego:1: package team.rules: org policies must live under package meridian.org",
		},
		"LoadError": {
			reason:   "A repo that does not load is an error.",
			loadErr:  meridian.ConfigErrors{{File: "meridian.yaml", Line: 3, Message: "bad"}},
			wantCode: exitError,
			wantErr:  "meridian.yaml:3: bad",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := runPolicyTest(t, tc.pols, tc.loadErr, tc.args...)
			if got := exitCode(err); got != tc.wantCode {
				t.Errorf("%s\nexit code %d, want %d (err %v)\n%s", tc.reason, got, tc.wantCode, err, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("%s\noutput does not contain %q:\n%s", tc.reason, w, out)
				}
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("%s\nerror %v, want it to contain %q", tc.reason, err, tc.wantErr)
			}
		})
	}
}
