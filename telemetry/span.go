package telemetry

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopePrefix is the instrumentation scope of Meridian's tracers, followed
// by the package path below the module.
const ScopePrefix = "github.com/meridianhq/meridian/"

// Tracer returns the tracer of the package pkg (a path below the module,
// e.g. "planner") from tp, or a no-op tracer when tp is nil, so that the
// packages' zero options trace nothing.
func Tracer(tp trace.TracerProvider, pkg string) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(ScopePrefix + pkg)
}

// End ends span, marking it failed with err when err is not nil. A
// cancelled context is recorded as an error too: the work did not finish.
func End(span trace.Span, err error) {
	if err != nil {
		Fail(span, err)
	}
	span.End()
}

// Fail marks span failed with err without ending it, for outcomes that are
// failures without being Go errors (a target whose apply failed).
func Fail(span trace.Span, err error) {
	span.RecordError(err)
	msg := err.Error()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		msg = "interrupted: " + msg
	}
	span.SetStatus(codes.Error, msg)
}
