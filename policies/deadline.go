package policies

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultEvalTimeout bounds one evaluation when WithEvalTimeout is not
// given. It is far above what real policies need (the built-in library
// checks 1,000 workloads on 50 targets in well under a second) and low
// enough that a runaway policy in a pull request cannot hold a CPU for long.
const DefaultEvalTimeout = 30 * time.Second

// maxFindings bounds the findings one rule package may produce for one
// input. Real rules produce a handful; the bound keeps a policy from
// filling plans, pull-request comments and the store with millions.
const maxFindings = 1000

// Option configures New and RunTests.
type Option func(*options)

type options struct {
	evalTimeout time.Duration
}

// WithEvalTimeout sets how long one evaluation may run: one call of Check,
// CheckWorkloads or CheckPlacements, or one test rule under RunTests. The
// caller's ctx still applies when its deadline is sooner. d <= 0 means
// DefaultEvalTimeout.
func WithEvalTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.evalTimeout = d
		}
	}
}

func newOptions(opts []Option) options {
	o := options{evalTimeout: DefaultEvalTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// deadlineError is the cause of an evaluation stopped by the engine's own
// timeout. It unwraps to context.DeadlineExceeded, so callers can test for
// either.
type deadlineError struct{ timeout time.Duration }

func (e *deadlineError) Error() string {
	return fmt.Sprintf("policy evaluation exceeded its deadline of %s", e.timeout)
}

func (e *deadlineError) Unwrap() error { return context.DeadlineExceeded }

// withDeadline bounds ctx by the evaluation timeout. OPA's evaluator
// watches the context and halts the query, including loops inside builtins
// such as numbers.range, once it is done.
func (o options) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, o.evalTimeout, &deadlineError{timeout: o.evalTimeout})
}

// stopped explains why an evaluation under ctx ended early: the engine's
// deadline, the caller's deadline or the caller's cancellation. OPA's own
// error says only that the query was cancelled.
func stopped(ctx context.Context) error {
	cause := context.Cause(ctx)
	var de *deadlineError
	switch {
	case errors.As(cause, &de):
		return cause
	case errors.Is(cause, context.DeadlineExceeded):
		return fmt.Errorf("policy evaluation exceeded the caller's deadline: %w", cause)
	default:
		return fmt.Errorf("policy evaluation stopped: %w", cause)
	}
}
