package policies

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
)

// Outcome is how a policy test ended.
type Outcome string

// Outcomes, as `opa test` names them.
const (
	OutcomePass  Outcome = "pass"
	OutcomeFail  Outcome = "fail"
	OutcomeError Outcome = "error"
	// OutcomeSkip is a test named todo_test_*.
	OutcomeSkip Outcome = "skip"
)

// TestResult is the result of one Rego test rule.
type TestResult struct {
	// Package is the test's package, e.g. "meridian.org.placement.eu_test".
	Package string
	// Name is the test rule's name, e.g. "test_deny_us".
	Name string
	// File and Line locate the test rule. Built-in tests have File
	// "builtin:<kind>/<rule>/<rule>_test.rego".
	File    string
	Line    int
	Builtin bool
	Outcome Outcome
	// Error is set for OutcomeError: the evaluation error.
	Error string
	// Explanation is set for OutcomeFail: the trace of the expressions that
	// failed, as `opa test --explain fails` prints it.
	Explanation string
	// Output is what the test printed with print().
	Output   string
	Duration time.Duration
}

// RunTests runs every test rule (test_*) of the built-in library and of the
// org policy files, as `opa test` would on the two together, so org tests
// may use built-in rules. Rego errors in the org files, including calls to
// builtins policies may not use, are returned as meridian.ConfigErrors with
// file:line. Each test rule is one evaluation, bounded by WithEvalTimeout
// (or the caller's sooner deadline); a test that overruns is reported as an
// error. Results are sorted by file and line.
func RunTests(ctx context.Context, org map[string]string, opts ...Option) ([]TestResult, error) {
	o := newOptions(opts)
	files, err := builtinFiles(true)
	if err != nil {
		return nil, err
	}
	maps.Copy(files, org)
	mods, errs := parseModules(files)
	errs = append(errs, checkBuiltins(mods)...)
	if len(errs) > 0 {
		return nil, errs
	}
	// The runner compiles with the compiler it is given, so tests run under
	// the same capabilities as plans; print stays on for CapturePrintOutput.
	ch, err := tester.NewRunner().
		SetCompiler(newCompiler(capabilities()).WithEnablePrintStatements(true)).
		SetModules(mods).
		CapturePrintOutput(true).
		EnableTracing(true).
		SetTimeout(o.evalTimeout).
		SetParallel(runtime.GOMAXPROCS(0)).
		RunTests(ctx, nil)
	if err != nil {
		var astErrs ast.Errors
		if errors.As(err, &astErrs) {
			return nil, configErrors("", astErrs)
		}
		return nil, fmt.Errorf("run policy tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		tr := testResult(r)
		if r.Error != nil && topdown.IsCancel(r.Error) && ctx.Err() == nil {
			// The runner cancels a test at its timeout and says only
			// "caller cancelled query execution".
			tr.Error = (&deadlineError{timeout: o.evalTimeout}).Error()
		}
		out = append(out, tr)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b TestResult) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

func testResult(r *tester.Result) TestResult {
	tr := TestResult{
		Package:  strings.TrimPrefix(r.Package, "data."),
		Name:     r.Name,
		Output:   string(r.Output),
		Duration: r.Duration,
		Outcome:  OutcomePass,
	}
	if r.Location != nil {
		tr.File, tr.Line = r.Location.File, r.Location.Row
		tr.Builtin = strings.HasPrefix(tr.File, builtinPrefix)
	}
	switch {
	case r.Skip:
		tr.Outcome = OutcomeSkip
	case r.Error != nil:
		tr.Outcome, tr.Error = OutcomeError, r.Error.Error()
	case r.Fail:
		tr.Outcome = OutcomeFail
		var buf bytes.Buffer
		topdown.PrettyTraceWithLocation(&buf, lineage.Fails(r.Trace))
		tr.Explanation = buf.String()
	}
	return tr
}
