package crossplane

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/meridianhq/meridian"
)

// fakeReader serves objects by kind and namespace, and records the
// selectors it was asked for.
type fakeReader struct {
	objs      []*unstructured.Unstructured
	err       error
	selectors []string
}

func (f *fakeReader) List(_ context.Context, gvk schema.GroupVersionKind, ns, sel string) ([]unstructured.Unstructured, error) {
	f.selectors = append(f.selectors, sel)
	if f.err != nil {
		return nil, f.err
	}
	var out []unstructured.Unstructured
	for _, o := range f.objs {
		if o.GroupVersionKind() == gvk && o.GetNamespace() == ns {
			out = append(out, *o.DeepCopy())
		}
	}
	return out, nil
}

func obj(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

const rendered = `apiVersion: s3.aws.m.upbound.io/v1beta1
kind: Bucket
metadata:
  name: api.aws.bucket
  namespace: api
  annotations: {crossplane.io/external-name: api-eu-west-1-1234}
spec:
  forProvider: {region: eu-west-1, tags: {env: prod}}
  providerConfigRef: {kind: ClusterProviderConfig, name: default}
`

// observed is the rendered bucket as the API server returns it, with the
// defaults it adds and what the provider wrote, plus extra status YAML.
func observed(t *testing.T, forProvider, status string) *unstructured.Unstructured {
	return obj(t, `apiVersion: s3.aws.m.upbound.io/v1beta1
kind: Bucket
metadata:
  name: api.aws.bucket
  namespace: api
  creationTimestamp: "2026-01-01T00:00:00Z"
  annotations: {crossplane.io/external-name: api-eu-west-1-1234}
spec:
  forProvider: `+forProvider+`
  initProvider: {}
  managementPolicies: ["*"]
  providerConfigRef: {kind: ClusterProviderConfig, name: default}
status: `+status)
}

func TestCheck(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ready := `{conditions: [{type: Synced, status: "True", reason: ReconcileSuccess, lastTransitionTime: "2026-01-01T00:01:00Z"}, {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-01-01T00:01:00Z"}]}`
	cases := map[string]struct {
		reason   string
		observed string // forProvider; "" means no object
		status   string
		now      time.Duration
		want     string // action; "" means no record
		actual   string
	}{
		"clean": {
			reason:   "a Synced, Ready resource with the provider's late-initialized fields is no drift",
			observed: `{region: eu-west-1, tags: {env: prod}, objectLockEnabled: false, forceDestroy: false}`,
			status:   ready, now: time.Hour,
		},
		"missing within grace": {
			reason: "Argo CD has not created it yet",
			now:    5 * time.Minute,
		},
		"missing": {
			reason: "deleted out of band once the grace has passed",
			now:    time.Hour, want: meridian.DriftMissing, actual: "deleted outside Meridian",
		},
		"sync failed": {
			reason:   "Synced=False is drift at once, with the provider's error",
			observed: `{region: eu-west-1, tags: {env: prod}}`,
			status:   `{conditions: [{type: Synced, status: "False", reason: ReconcileError, message: "AccessDenied: no", lastTransitionTime: "2026-01-01T00:59:00Z"}, {type: Ready, status: "True", reason: Available, lastTransitionTime: "2026-01-01T00:01:00Z"}]}`,
			now:      time.Hour, want: meridian.DriftSyncFailed, actual: "Synced=False (ReconcileError: AccessDenied: no)",
		},
		"not ready within grace": {
			reason:   "a provider takes minutes to create a bucket",
			observed: `{region: eu-west-1, tags: {env: prod}}`,
			status:   `{conditions: [{type: Ready, status: "False", reason: Creating, lastTransitionTime: "2026-01-01T00:55:00Z"}]}`,
			now:      time.Hour,
		},
		"not ready past grace": {
			reason:   "not Ready for longer than the grace, with the reason",
			observed: `{region: eu-west-1, tags: {env: prod}}`,
			status:   `{conditions: [{type: Ready, status: "False", reason: Unavailable, message: gone, lastTransitionTime: "2026-01-01T00:30:00Z"}]}`,
			now:      time.Hour, want: meridian.DriftNotReady, actual: "Ready=False for 30m0s (Unavailable: gone)",
		},
		"no conditions past grace": {
			reason:   "no provider ever wrote a condition: Unknown since creation",
			observed: `{region: eu-west-1, tags: {env: prod}}`,
			status:   `{}`,
			now:      time.Hour, want: meridian.DriftNotReady, actual: "Ready=Unknown",
		},
		"spec changed": {
			reason:   "a rendered field holds another value",
			observed: `{region: eu-west-1, tags: {env: dev}}`,
			status:   ready, now: time.Hour, want: meridian.DriftSpecChanged, actual: `spec.forProvider.tags.env="dev"`,
		},
		"spec field removed": {
			reason:   "a rendered field was removed",
			observed: `{region: eu-west-1}`,
			status:   ready, now: time.Hour, want: meridian.DriftSpecChanged, actual: `spec.forProvider.tags=(unset)`,
		},
		"sync failed and spec changed": {
			reason:   "one record per resource, the provider's error first",
			observed: `{region: us-east-1, tags: {env: prod}}`,
			status:   `{conditions: [{type: Synced, status: "False", reason: ReconcileError, message: boom, lastTransitionTime: "2026-01-01T00:59:00Z"}]}`,
			now:      time.Hour, want: meridian.DriftSyncFailed, actual: `Synced=False (ReconcileError: boom); spec.forProvider.region="us-east-1"`,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := &fakeReader{}
			if tc.observed != "" {
				r.objs = append(r.objs, observed(t, tc.observed, tc.status))
			}
			want := obj(t, rendered)
			got, err := Check(context.Background(), r, "aws", []Desired{{Workload: "api", Object: want, Since: t0}},
				Options{Selector: "meridian=yes", Grace: 10 * time.Minute, Now: func() time.Time { return t0.Add(tc.now) }})
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Errorf("%s: want no drift, got %+v", tc.reason, got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%s: want one record, got %+v", tc.reason, got)
			}
			d := got[0]
			wantHead := meridian.DriftRecord{Engine: meridian.DriftEngineCrossplane, Target: "aws", Workload: "api",
				Resource: "Bucket.s3.aws.m.upbound.io/api/api.aws.bucket", Action: tc.want}
			gotHead := d
			gotHead.Expected, gotHead.Actual = "", ""
			if diff := cmp.Diff(wantHead, gotHead); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if !strings.Contains(d.Actual, tc.actual) {
				t.Errorf("%s: actual %q, want it to hold %q", tc.reason, d.Actual, tc.actual)
			}
			if slices.ContainsFunc(r.selectors, func(s string) bool { return s != "meridian=yes" }) {
				t.Errorf("listed with selectors %v, want only Meridian's", r.selectors)
			}
		})
	}
}

// TestCheckRefuses proves a check never reads without a selector (it would
// read everyone's resources) and passes a read failure on, so the caller
// keeps the target's records rather than clearing them.
func TestCheckRefuses(t *testing.T) {
	d := []Desired{{Object: obj(t, rendered)}}
	if _, err := Check(context.Background(), &fakeReader{}, "aws", d, Options{}); err == nil || !strings.Contains(err.Error(), "selector") {
		t.Errorf("no selector: want an error naming it, got %v", err)
	}
	boom := errors.New("connection refused")
	_, err := Check(context.Background(), &fakeReader{err: boom}, "aws", d, Options{Selector: "x=y"})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "crossplane target aws") {
		t.Errorf("read failure: want it wrapped with the target, got %v", err)
	}
}
