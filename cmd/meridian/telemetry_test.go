package main

import (
	"slices"
	"testing"

	"github.com/meridianhq/meridian/telemetry"
	"github.com/meridianhq/meridian/telemetry/telemetrytest"
)

// TestPlanTracesToOTLPReceiver runs `meridian plan` on the example with
// only the standard OTEL_* variables set, and checks that its spans
// reached an OTLP receiver on loopback through the real exporter, flushed
// before the command returned.
func TestPlanTracesToOTLPReceiver(t *testing.T) {
	recv := telemetrytest.Start(t)
	for k, v := range map[string]string{telemetry.EnvEndpoint: recv.GRPC, telemetry.EnvProtocol: "grpc", "OTEL_SERVICE_NAME": "meridian-cli",
		telemetry.EnvTracesEndpoint: "", telemetry.EnvTracesProtocol: "", telemetry.EnvSDKDisabled: "", telemetry.EnvTracesExporter: "", "OTEL_TRACES_SAMPLER": ""} {
		t.Setenv(k, v)
	}
	dir := copyExample(t)
	r := runCLI(t, offline(t, "plan", "--repo", dir, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("plan exited %d; stderr:\n%s", r.code, r.stderr)
	}
	spans := recv.Spans()
	var names []string
	byName := map[string]telemetrytest.Span{}
	for _, s := range spans {
		names = append(names, s.Name)
		byName[s.Name] = s
		if s.Service != "meridian-cli" {
			t.Errorf("span %s: service.name %q, want OTEL_SERVICE_NAME's", s.Name, s.Service)
		}
	}
	root, ok := byName["plan"]
	if !ok {
		t.Fatalf("no plan span received; got %v", names)
	}
	for _, stage := range []string{"plan.policy", "plan.forecast", "plan.solve", "plan.explain", "plan.terraform", "plan.deploy"} {
		s, ok := byName[stage]
		if !ok {
			t.Errorf("stage span %s not received; got %v", stage, names)
			continue
		}
		if s.ParentSpanID != root.SpanID || s.TraceID != root.TraceID {
			t.Errorf("%s is not a child of the plan span", stage)
		}
	}
	if !slices.Contains(names, "plan") || root.Attributes["meridian.plan"] == "" {
		t.Errorf("the plan span lacks the plan's ID: %v", root.Attributes)
	}
}
