package planner_test

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/planner"
)

// failingTerraform is a Terraform stage that fails the plan.
type failingTerraform struct{}

func (failingTerraform) PlanTerraform(context.Context, *meridian.Config, fs.FS, *meridian.Plan) error {
	return errors.New("backend unreachable")
}

func TestPlanSpans(t *testing.T) {
	cases := map[string]struct {
		reason    string
		opts      []planner.Option
		wantErr   bool
		wantSpans []string // children of "plan", in the order they ended
		wantFail  []string // spans with an error status
	}{
		"every stage": {
			reason:    "each stage of a plan is a child span of the plan's, so a slow plan shows where its time went",
			wantSpans: []string{"plan.policy", "plan.forecast", "plan.solve", "plan.explain", "plan.terraform", "plan.deploy"},
		},
		"failed stage": {
			reason:    "a stage that fails the plan is marked failed, and so is the plan; later stages never start",
			opts:      []planner.Option{planner.WithTerraform(failingTerraform{})},
			wantErr:   true,
			wantSpans: []string{"plan.policy", "plan.forecast", "plan.solve", "plan.explain", "plan.terraform"},
			wantFail:  []string{"plan.terraform", "plan"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			cfg, fsys := repo(t, nil)
			p, err := planner.New(append(tc.opts, planner.WithTracerProvider(tp))...)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Plan(context.Background(), planner.Input{Config: cfg, FS: fsys, Repo: "r", Commit: "abc"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("%s: err = %v", tc.reason, err)
			}
			spans := exp.GetSpans()
			var root tracetest.SpanStub
			for _, s := range spans {
				if s.Name == "plan" {
					root = s
				}
			}
			if root.Name == "" {
				t.Fatalf("%s: no plan span in %d spans", tc.reason, len(spans))
			}
			var children, failed []string
			for _, s := range spans {
				if s.Parent.SpanID() == root.SpanContext.SpanID() {
					children = append(children, s.Name)
				}
				if s.Status.Code == codes.Error {
					failed = append(failed, s.Name)
				}
			}
			if d := cmp.Diff(tc.wantSpans, children); d != "" {
				t.Errorf("%s: children of plan (-want +got):\n%s", tc.reason, d)
			}
			if d := cmp.Diff(tc.wantFail, failed); d != "" {
				t.Errorf("%s: failed spans (-want +got):\n%s", tc.reason, d)
			}
			attrs := map[string]string{}
			for _, kv := range root.Attributes {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			if attrs["meridian.commit"] != "abc" || attrs["meridian.workloads"] != "1" {
				t.Errorf("%s: plan span attributes %v", tc.reason, attrs)
			}
		})
	}
}
