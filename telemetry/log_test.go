package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/meridianhq/meridian/telemetry"
)

func TestLogHandlerAddsTraceIDs(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	defer span.End()
	sc := span.SpanContext()

	cases := map[string]struct {
		reason    string
		ctx       context.Context
		wantTrace string
		wantSpan  string
	}{
		"in a span": {
			reason: "a record logged under a span carries its IDs, to join the log line to the trace",
			ctx:    ctx, wantTrace: sc.TraceID().String(), wantSpan: sc.SpanID().String(),
		},
		"no span": {
			reason: "a record without a span gets no empty or zero IDs",
			ctx:    context.Background(),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(telemetry.NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
			log.InfoContext(tc.ctx, "hello", "k", "v")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v in %s", tc.reason, err, buf.String())
			}
			got := func(k string) string { s, _ := rec[k].(string); return s }
			if got(telemetry.LogTraceID) != tc.wantTrace || got(telemetry.LogSpanID) != tc.wantSpan {
				t.Errorf("%s: got trace_id %q span_id %q, want %q %q", tc.reason, got(telemetry.LogTraceID), got(telemetry.LogSpanID), tc.wantTrace, tc.wantSpan)
			}
			if got("component") != "test" || got("k") != "v" {
				t.Errorf("%s: other attributes lost: %s", tc.reason, buf.String())
			}
		})
	}
}
