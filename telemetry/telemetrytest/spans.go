package telemetrytest

import (
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Find returns the last ended span called name, failing tb when there is
// none.
func Find(tb testing.TB, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	tb.Helper()
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].Name == name {
			return spans[i]
		}
	}
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	tb.Fatalf("no span %q among %v", name, names)
	return tracetest.SpanStub{}
}

// Has reports whether a span called name has ended.
func Has(spans tracetest.SpanStubs, name string) bool {
	for _, s := range spans {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Attr returns the value of s's attribute key as text ("" when unset).
func Attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
