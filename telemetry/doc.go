// Package telemetry sets up Meridian's OpenTelemetry tracing: a
// TracerProvider configured by the standard OTEL_* environment variables
// (off when none names an endpoint), a slog handler that stamps log records
// with the trace and span IDs of their context, and the few helpers the
// instrumented packages share.
//
// Packages take a trace.TracerProvider through their options and default
// to a no-op one; nothing here sets the OpenTelemetry globals.
package telemetry
