package workflow_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/telemetry/telemetrytest"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// TestApplySpans applies two targets with the real binary, one of which
// fails at apply time (a postcondition Terraform can only check then), and
// checks the trace: one apply.target span per target under the apply,
// init and apply under each, and the failure marked where it happened.
func TestApplySpans(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.repoDir, "tf", "failapply")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mod := `resource "terraform_data" "x" {
  input = "a"
  lifecycle {
    postcondition {
      condition     = self.output == "b"
      error_message = "the output is not b"
    }
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(mod), 0o644); err != nil {
		t.Fatal(err)
	}
	f.cfg.Targets[1].Terraform.Module = "tf/failapply"
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	r, err := terraform.New(context.Background(), f.bin, terraform.Options{PluginCacheDir: filepath.Join(f.stateDir, "plugin-cache"), TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	wf, err := workflow.New(f.open(t), r, workflow.Options{StateDir: f.stateDir, Owner: store.Owner{Host: "test", PID: os.Getpid(), Actor: "tester"},
		TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	plan := initial.plan()
	s, err := f.planSession(ctx, wf, plan)
	if err != nil {
		t.Fatal(err)
	}
	exp.Reset() // the plan's spans are not what this test reads
	res, err := s.Apply(ctx, plan.ID, nil)
	s.Close(err, res)
	if err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	apply := telemetrytest.Find(t, spans, "apply.terraform")
	type node struct {
		Target, Status string
		Children       map[string]bool // child span name -> failed
	}
	got := map[string]node{}
	for _, s := range spans {
		if s.Name != "apply.target" || s.Parent.SpanID() != apply.SpanContext.SpanID() {
			continue
		}
		n := node{Target: telemetrytest.Attr(s, "meridian.target"), Status: s.Status.Code.String(), Children: map[string]bool{}}
		for _, c := range spans {
			if c.Parent.SpanID() == s.SpanContext.SpanID() {
				n.Children[c.Name] = c.Status.Code == codes.Error
			}
		}
		got[n.Target] = n
	}
	want := map[string]node{
		"east": {Target: "east", Status: codes.Unset.String(), Children: map[string]bool{"terraform.init": false, "terraform.apply": false}},
		"west": {Target: "west", Status: codes.Error.String(), Children: map[string]bool{"terraform.init": false, "terraform.apply": true}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("apply.target spans (-want +got):\n%s", d)
	}
	if apply.Status.Code != codes.Error {
		t.Errorf("the apply span of an apply with a failed target has status %v, want Error", apply.Status)
	}
	if telemetrytest.Attr(telemetrytest.Find(t, spans, "terraform.apply"), "meridian.terraform.version") == "" {
		t.Error("terraform.apply spans carry the binary's version")
	}
}
