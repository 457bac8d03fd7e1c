package policies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// slowRule is a rule body that runs for tens of seconds: the 12M-iteration
// comprehension that once burned a CPU for 17 s after its client left.
const slowRule = `	x := count([i | some i in numbers.range(1, 12000000)])
	x > 0`

// slack allows for a loaded 2-core CI machine; the old code ran on well past
// any of these.
const slack = 5 * time.Second

// TestEvalDeadline checks that every evaluation entry point stops a runaway
// policy at its deadline, whichever deadline is sooner, and says so.
func TestEvalDeadline(t *testing.T) {
	workloadPolicy := map[string]string{"policies/slow.rego": "package meridian.org.workload.slow\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if {\n" + slowRule + "\n}\n"}
	placementPolicy := map[string]string{"policies/slow.rego": "package meridian.org.placement.slow\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if {\n" + slowRule + "\n}\n"}
	ws, ts := []meridian.Workload{apiWorkload()}, []meridian.Target{euTarget()}
	checkWorkloads := func(ctx context.Context, e *Engine) error { _, err := e.CheckWorkloads(ctx, ws); return err }
	checkPlacements := func(ctx context.Context, e *Engine) error { _, err := e.CheckPlacements(ctx, ws, ts); return err }
	check := func(ctx context.Context, e *Engine) error { _, _, err := e.Check(ctx, ws, ts); return err }

	cases := map[string]struct {
		reason      string
		org         map[string]string
		opts        []Option
		ctxTimeout  time.Duration // 0: context.Background()
		call        func(context.Context, *Engine) error
		deadline    time.Duration
		wantMessage string
	}{
		"EngineTimeoutCheckWorkloads": {
			reason:      "A caller without a deadline (a server request whose client left) still gets the engine's.",
			org:         workloadPolicy,
			opts:        []Option{WithEvalTimeout(2 * time.Second)},
			call:        checkWorkloads,
			deadline:    2 * time.Second,
			wantMessage: "evaluate meridian.org.workload.slow: policy evaluation exceeded its deadline of 2s",
		},
		"EngineTimeoutCheckPlacements": {
			reason:      "Placement rules are bounded the same way.",
			org:         placementPolicy,
			opts:        []Option{WithEvalTimeout(2 * time.Second)},
			call:        checkPlacements,
			deadline:    2 * time.Second,
			wantMessage: "evaluate meridian.org.placement.slow: policy evaluation exceeded its deadline of 2s",
		},
		"EngineTimeoutCheck": {
			reason:      "Check, which the planner calls, is bounded as a whole.",
			org:         placementPolicy,
			opts:        []Option{WithEvalTimeout(2 * time.Second)},
			call:        check,
			deadline:    2 * time.Second,
			wantMessage: "policy evaluation exceeded its deadline of 2s",
		},
		"CallerDeadlineSooner": {
			reason:      "The caller's context wins when its deadline is sooner than the engine's default.",
			org:         workloadPolicy,
			ctxTimeout:  time.Second,
			call:        checkWorkloads,
			deadline:    time.Second,
			wantMessage: "policy evaluation exceeded the caller's deadline: context deadline exceeded",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e, err := New(context.Background(), meridian.DefaultSettings(), tc.org, tc.opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx := context.Background()
			if tc.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxTimeout)
				defer cancel()
			}
			start := time.Now()
			err = tc.call(ctx, e)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("%s\nno error after %v, want the deadline's", tc.reason, elapsed)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s\nerror %q does not wrap context.DeadlineExceeded", tc.reason, err)
			}
			if !strings.Contains(err.Error(), tc.wantMessage) {
				t.Errorf("%s\nerror %q does not contain %q", tc.reason, err, tc.wantMessage)
			}
			if elapsed > tc.deadline+slack {
				t.Errorf("%s\nevaluation stopped after %v, want within %v of its %v deadline", tc.reason, elapsed, slack, tc.deadline)
			}
		})
	}
}

// TestRunTestsDeadline checks that a runaway policy test is stopped at the
// timeout and reported as an error that says so, while the other tests
// still run.
func TestRunTestsDeadline(t *testing.T) {
	org := map[string]string{"policies/slow_test.rego": "package meridian.org.workload.slow_test\n\ntest_slow if {\n" + slowRule + "\n}\n\ntest_fast if true\n"}
	start := time.Now()
	results, err := RunTests(context.Background(), org, WithEvalTimeout(time.Second))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]TestResult{}
	for _, r := range results {
		if !r.Builtin {
			got[r.Name] = r
		}
	}
	if r := got["test_slow"]; r.Outcome != OutcomeError || r.Error != "policy evaluation exceeded its deadline of 1s" {
		t.Errorf("test_slow: outcome %s, error %q; want an error naming the 1s deadline", r.Outcome, r.Error)
	}
	if r := got["test_fast"]; r.Outcome != OutcomePass {
		t.Errorf("test_fast: outcome %s, want pass", r.Outcome)
	}
	if elapsed > time.Second+slack {
		t.Errorf("RunTests took %v, want within %v of the 1s deadline", elapsed, slack)
	}
}

func TestOptions(t *testing.T) {
	cases := map[string]struct {
		reason string
		opts   []Option
		want   time.Duration
	}{
		"Default":     {reason: "Without options every evaluation still has a deadline.", want: DefaultEvalTimeout},
		"Set":         {reason: "The option sets the timeout.", opts: []Option{WithEvalTimeout(time.Minute)}, want: time.Minute},
		"ZeroIsUnset": {reason: "A zero timeout must not mean no deadline, nor an immediate one.", opts: []Option{WithEvalTimeout(0)}, want: DefaultEvalTimeout},
		"Negative":    {reason: "A negative timeout means the default too.", opts: []Option{WithEvalTimeout(-time.Second)}, want: DefaultEvalTimeout},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := newOptions(tc.opts).evalTimeout; got != tc.want {
				t.Errorf("%s\nevalTimeout = %v, want %v", tc.reason, got, tc.want)
			}
		})
	}
}

// TestMaxFindings checks the bound on what one evaluation may produce.
func TestMaxFindings(t *testing.T) {
	policy := func(n int) map[string]string {
		return map[string]string{"policies/many.rego": fmt.Sprintf(`package meridian.org.workload.many

deny contains {"id": "X", "msg": "m", "field": sprintf("tags.t%%d", [i])} if {
	some i in numbers.range(1, %d)
}
`, n)}
	}
	cases := map[string]struct {
		reason  string
		n       int
		wantErr string
	}{
		"AtTheBound": {reason: "Up to maxFindings findings per input are reported.", n: maxFindings},
		"OverTheBound": {reason: "More is an error rather than a plan with millions of findings.", n: maxFindings + 1,
			wantErr: fmt.Sprintf("evaluate meridian.org.workload.many: %d findings for one input, more than the %d allowed", maxFindings+1, maxFindings)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, meridian.DefaultSettings(), policy(tc.n))
			fs, err := e.CheckWorkloads(context.Background(), []meridian.Workload{apiWorkload()})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("%s\nCheckWorkloads: %v", tc.reason, err)
			case tc.wantErr == "" && len(fs) != tc.n:
				t.Errorf("%s\ngot %d findings, want %d", tc.reason, len(fs), tc.n)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Errorf("%s\nerror %v, want %q", tc.reason, err, tc.wantErr)
			}
		})
	}
}
