package telemetry_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/telemetry/telemetrytest"
)

func TestOTLPExportToReceiver(t *testing.T) {
	recv := telemetrytest.Start(t)
	cases := map[string]struct {
		reason string
		env    map[string]string
	}{
		"grpc": {reason: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc sends to the gRPC TraceService",
			env: map[string]string{telemetry.EnvEndpoint: recv.GRPC, telemetry.EnvProtocol: "grpc", "OTEL_SERVICE_NAME": "meridian-grpc"}},
		"http/protobuf": {reason: "the default protocol, http/protobuf, with the signal-specific endpoint (a full URL)",
			env: map[string]string{telemetry.EnvTracesEndpoint: recv.HTTP + "/v1/traces", "OTEL_SERVICE_NAME": "meridian-http"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, k := range []string{telemetry.EnvEndpoint, telemetry.EnvTracesEndpoint, telemetry.EnvProtocol, telemetry.EnvTracesProtocol,
				"OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", telemetry.EnvSDKDisabled, telemetry.EnvTracesExporter} {
				t.Setenv(k, tc.env[k])
			}
			p, err := telemetry.Setup(context.Background(), telemetry.Options{Getenv: os.Getenv, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			tr := telemetry.Tracer(p, "telemetry")
			ctx, parent := tr.Start(context.Background(), "parent-"+name)
			_, child := tr.Start(ctx, "child-"+name)
			child.End()
			parent.End()
			// Shutdown flushes the batch: nothing is lost at exit.
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := p.Shutdown(sctx); err != nil {
				t.Fatal(err)
			}
			got := map[string]telemetrytest.Span{}
			for _, s := range recv.Spans() {
				if s.Name == "parent-"+name || s.Name == "child-"+name {
					got[s.Name] = s
					if s.Service != tc.env["OTEL_SERVICE_NAME"] {
						t.Errorf("%s: span %s has service.name %q, want %q from OTEL_SERVICE_NAME", tc.reason, s.Name, s.Service, tc.env["OTEL_SERVICE_NAME"])
					}
				}
			}
			if len(got) != 2 {
				t.Fatalf("%s: the receiver got %v, want the parent and child spans", tc.reason, recv.Spans())
			}
			p0, c0 := got["parent-"+name], got["child-"+name]
			if c0.ParentSpanID != p0.SpanID || c0.TraceID != p0.TraceID {
				t.Errorf("%s: child's parent %s/%s, want %s/%s", tc.reason, c0.TraceID, c0.ParentSpanID, p0.TraceID, p0.SpanID)
			}
		})
	}
}
