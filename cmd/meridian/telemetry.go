package main

import (
	"context"
	"os"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/meridianhq/meridian/telemetry"
)

// startTracing sets up the process's tracer provider from the OTEL_*
// environment (off when it names no endpoint; see docs/observability.md).
func (a *app) startTracing(ctx context.Context) error {
	p, err := telemetry.Setup(ctx, telemetry.Options{Getenv: os.Getenv, Version: buildVersion()})
	if err != nil {
		return err
	}
	a.tracing = p
	if p.Exporter != "off" {
		a.logger.Info("tracing", "exporter", p.Exporter)
	}
	return nil
}

// tracerProvider is what commands hand to the packages they wire: the
// process's provider, or a no-op one before startTracing ran.
func (a *app) tracerProvider() trace.TracerProvider {
	if a.tracing == nil {
		return noop.NewTracerProvider()
	}
	return a.tracing
}

// stopTracing flushes the spans still buffered, once the command is done.
func (a *app) stopTracing() {
	if a.tracing == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.tracing.Shutdown(ctx); err != nil && a.logger != nil {
		a.logger.Warn("traces not flushed", "err", err)
	}
	a.tracing = nil
}
