package telemetry_test

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/meridianhq/meridian/telemetry"
)

func TestSetupFromEnv(t *testing.T) {
	cases := map[string]struct {
		reason  string
		env     map[string]string
		wantOn  bool
		wantErr string
	}{
		"unset": {reason: "without an endpoint tracing is off and costs nothing", env: nil},
		"endpoint": {reason: "an OTLP endpoint turns tracing on",
			env: map[string]string{telemetry.EnvEndpoint: "http://127.0.0.1:4318"}, wantOn: true},
		"traces endpoint, grpc": {reason: "the signal-specific endpoint counts too",
			env: map[string]string{telemetry.EnvTracesEndpoint: "http://127.0.0.1:4317", telemetry.EnvProtocol: "grpc"}, wantOn: true},
		"sdk disabled": {reason: "OTEL_SDK_DISABLED wins over an endpoint",
			env: map[string]string{telemetry.EnvEndpoint: "http://127.0.0.1:4318", telemetry.EnvSDKDisabled: "true"}},
		"exporter none": {reason: "OTEL_TRACES_EXPORTER=none turns traces off",
			env: map[string]string{telemetry.EnvEndpoint: "http://127.0.0.1:4318", telemetry.EnvTracesExporter: "none"}},
		"bad protocol": {reason: "a protocol typo is an error, not silently no traces",
			env: map[string]string{telemetry.EnvEndpoint: "http://127.0.0.1:4318", telemetry.EnvProtocol: "http/json"}, wantErr: "want grpc or http/protobuf"},
		"bad exporter": {reason: "an exporter Meridian does not ship is an error",
			env: map[string]string{telemetry.EnvEndpoint: "http://127.0.0.1:4318", telemetry.EnvTracesExporter: "zipkin"}, wantErr: "otlp (or none)"},
		"bad disabled": {reason: "OTEL_SDK_DISABLED must be a boolean",
			env: map[string]string{telemetry.EnvSDKDisabled: "yes please"}, wantErr: "want true or false"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := telemetry.Setup(context.Background(), telemetry.Options{Getenv: func(k string) string { return tc.env[k] }})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("%s: got error %v, want one containing %q", tc.reason, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", tc.reason, err)
			}
			defer p.Shutdown(context.Background())
			_, isNoop := p.TracerProvider.(noop.TracerProvider)
			if isNoop == tc.wantOn {
				t.Errorf("%s: tracing on = %v (exporter %q), want %v", tc.reason, !isNoop, p.Exporter, tc.wantOn)
			}
		})
	}
}
