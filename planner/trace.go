package planner

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian/telemetry"
)

// WithTracerProvider makes Plan record a "plan" span with one child span
// per stage (default: no tracing).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(p *Planner) { p.tracer = telemetry.Tracer(tp, "planner") }
}

// stages traces Plan's stages one after the other, as the stopwatch times
// them: next ends the running stage's span and starts the next one's.
type stages struct {
	tracer trace.Tracer
	ctx    context.Context
	cur    trace.Span
}

// next starts stage name and returns the context its work runs under.
func (s *stages) next(name string) context.Context {
	if s.cur != nil {
		s.cur.End()
	}
	ctx, span := s.tracer.Start(s.ctx, "plan."+name)
	s.cur = span
	return ctx
}

// end ends the running stage, failed with err when it is not nil.
func (s *stages) end(err error) {
	if s.cur != nil {
		telemetry.End(s.cur, err)
		s.cur = nil
	}
}
