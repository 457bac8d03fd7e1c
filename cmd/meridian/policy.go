package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
)

// newPolicyCmd returns `meridian policy`. load reads and parses the config
// repo named by --repo.
func newPolicyCmd(load func(ctx context.Context, repo string) (*meridian.Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Work with the built-in and org Rego policies",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newPolicyTestCmd(load))
	return cmd
}

func newPolicyTestCmd(load func(ctx context.Context, repo string) (*meridian.Config, error)) *cobra.Command {
	var (
		repo    string
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "test [--repo DIR] [-v]",
		Short: "Check the org policies and run every policy test",
		Long: `test checks the config repo's org policies as plan would (Rego errors and
the org policy contract, reported at file:line), then runs every Rego test
rule (test_*) of the built-in library and the repo's *_test.rego files
together, as opa test would. Failing and erroring tests are printed with
the trace of what failed; -v lists the passing ones too.

Exit status: 0 when every test passes; 1 when a test fails or errors, or
the policies do not compile.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := load(ctx, repo)
			if err != nil {
				return policyCmdErr(err)
			}
			if _, err := policies.New(ctx, cfg.Settings, cfg.Policies); err != nil {
				return policyCmdErr(err)
			}
			results, err := policies.RunTests(ctx, cfg.Policies)
			if err != nil {
				return policyCmdErr(err)
			}
			bad, err := writeTestReport(cmd.OutOrStdout(), results, verbose)
			if err != nil {
				return fmt.Errorf("write test report: %w", err)
			}
			if bad > 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("%d of %d policy tests did not pass", bad, len(results))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&repo, "repo", ".", "config repo to test")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing and skipped tests too")
	return cmd
}

// policyCmdErr lists config errors (Rego errors at file:line) one per line.
func policyCmdErr(err error) error {
	if msg, ok := configErrorList(err); ok {
		return &exitErr{code: exitError, err: errors.New(msg)}
	}
	return &exitErr{code: exitError, err: err}
}

// writeTestReport prints results in the spirit of `opa test`: details of
// every test that did not pass (and, verbosely, the others), then a
// summary. It returns the number of failed and errored tests.
func writeTestReport(w io.Writer, results []policies.TestResult, verbose bool) (bad int, err error) {
	var b strings.Builder
	counts := map[policies.Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		quiet := r.Outcome == policies.OutcomePass || r.Outcome == policies.OutcomeSkip
		if quiet && !verbose {
			continue
		}
		fmt.Fprintf(&b, "%-5s %s:%d: %s.%s\n", strings.ToUpper(string(r.Outcome)), r.File, r.Line, r.Package, r.Name)
		for _, detail := range []struct{ title, text string }{
			{"", r.Error}, {"", r.Explanation}, {"printed:\n", r.Output},
		} {
			if text := strings.TrimRight(detail.text, "\n"); text != "" {
				b.WriteString(indent(detail.title+text, "      "))
			}
		}
	}
	bad = counts[policies.OutcomeFail] + counts[policies.OutcomeError]
	if b.Len() > 0 {
		b.WriteString(strings.Repeat("-", 80) + "\n")
	}
	n := len(results)
	fmt.Fprintf(&b, "PASS: %d/%d\n", counts[policies.OutcomePass], n)
	for _, o := range []struct {
		label   string
		outcome policies.Outcome
	}{{"FAIL", policies.OutcomeFail}, {"ERROR", policies.OutcomeError}, {"SKIPPED", policies.OutcomeSkip}} {
		if c := counts[o.outcome]; c > 0 {
			fmt.Fprintf(&b, "%s: %d/%d\n", o.label, c, n)
		}
	}
	_, err = io.WriteString(w, b.String())
	return bad, err
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix) + "\n"
}
