package crossplane

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	xpv1 "github.com/crossplane/crossplane-runtime/v2/apis/common/v1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/meridianhq/meridian"
)

// Reader lists the objects of one kind in one namespace that match a label
// selector. It must not block beyond one round trip to the API server.
// *Client implements it.
type Reader interface {
	List(ctx context.Context, gvk schema.GroupVersionKind, namespace, selector string) ([]unstructured.Unstructured, error)
}

// Desired is one resource Meridian rendered and committed.
type Desired struct {
	Workload string
	// Object is the rendered resource, as committed.
	Object *unstructured.Unstructured
	// Since is when Meridian committed it in this form: a resource that is
	// missing is not drift until the grace period has passed since, as
	// Argo CD needs that long to create it. Zero means long ago.
	Since time.Time
}

// Options tune Check. The zero value means the defaults.
type Options struct {
	// Selector is the label selector of Meridian's resources for the
	// target: only objects matching it are read.
	Selector string
	// Grace is how long a resource may be not Ready, or missing after it
	// was committed, before it is drift (default
	// meridian.DefaultCrossplaneReadyGrace).
	Grace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Check reads the resources of target and compares them with desired. It
// returns one record per drifted resource: deleted out of band (missing),
// Synced=False (sync-failed), a rendered field changed (spec-changed), or
// not Ready past the grace (not-ready). A resource with several of these
// gets one record, whose action is the first in that order and whose
// actual lists them all, because a record's identity is its resource.
func Check(ctx context.Context, r Reader, target string, desired []Desired, o Options) ([]meridian.DriftRecord, error) {
	if o.Grace <= 0 {
		o.Grace = meridian.DefaultCrossplaneReadyGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Selector == "" {
		// Without a selector every object of the kind would be read,
		// someone else's too.
		return nil, fmt.Errorf("crossplane target %s: no label selector", target)
	}
	now := o.Now()
	type listKey struct {
		gvk schema.GroupVersionKind
		ns  string
	}
	observed := map[listKey]map[string]*unstructured.Unstructured{}
	out := []meridian.DriftRecord{}
	for _, d := range desired {
		k := listKey{d.Object.GroupVersionKind(), d.Object.GetNamespace()}
		objs, ok := observed[k]
		if !ok {
			items, err := r.List(ctx, k.gvk, k.ns, o.Selector)
			if err != nil {
				return nil, fmt.Errorf("crossplane target %s: list %s in %s: %w", target, k.gvk.Kind, k.ns, err)
			}
			objs = map[string]*unstructured.Unstructured{}
			for i := range items {
				objs[items[i].GetName()] = &items[i]
			}
			observed[k] = objs
		}
		f := findings(d, objs[d.Object.GetName()], now, o.Grace)
		if len(f) == 0 {
			continue
		}
		out = append(out, f.record(target, d))
	}
	return out, nil
}

// finding is one thing wrong with a resource.
type finding struct {
	action, expected, actual string
}

type findingList []finding

// record folds a resource's findings into its one drift record.
func (fs findingList) record(target string, d Desired) meridian.DriftRecord {
	var exp, act []string
	for _, f := range fs {
		exp = append(exp, f.expected)
		act = append(act, f.actual)
	}
	return meridian.DriftRecord{
		Engine: meridian.DriftEngineCrossplane, Target: target, Workload: d.Workload,
		Resource: ResourceName(d.Object), Action: fs[0].action,
		Expected: strings.Join(exp, "; "), Actual: strings.Join(act, "; "),
	}
}

// ResourceName names a resource in drift records: kind.group/namespace/name,
// as kubectl names it.
func ResourceName(o *unstructured.Unstructured) string {
	gk := o.GroupVersionKind().GroupKind()
	return gk.String() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// findings compares one desired resource with what the cluster holds (nil:
// nothing with Meridian's labels by that name).
func findings(d Desired, obs *unstructured.Unstructured, now time.Time, grace time.Duration) findingList {
	if obs == nil || obs.GetDeletionTimestamp() != nil {
		if now.Sub(d.Since) < grace {
			return nil
		}
		actual := "not found in the cluster: deleted outside Meridian"
		if obs != nil {
			actual = "being deleted outside Meridian since " + obs.GetDeletionTimestamp().UTC().Format(time.RFC3339)
		}
		return findingList{{meridian.DriftMissing, "present, as committed", actual}}
	}
	var out findingList
	cs := conditions(obs)
	if c := cs.GetCondition(xpv1.TypeSynced); c.Status == corev1.ConditionFalse {
		out = append(out, finding{meridian.DriftSyncFailed, "Synced", "Synced=False " + describe(c)})
	}
	if diffs := specDiff(d.Object, obs); len(diffs) > 0 {
		var exp, act []string
		for _, df := range diffs {
			exp = append(exp, df.path+"="+df.want)
			act = append(act, df.path+"="+df.got)
		}
		out = append(out, finding{meridian.DriftSpecChanged, strings.Join(exp, ", "), strings.Join(act, ", ")})
	}
	if c := cs.GetCondition(xpv1.TypeReady); c.Status != corev1.ConditionTrue {
		// Not Ready since its last transition, or since it was created
		// when no provider has written the condition yet.
		since := obs.GetCreationTimestamp().Time
		if !c.LastTransitionTime.IsZero() {
			since = c.LastTransitionTime.Time
		}
		if now.Sub(since) >= grace {
			out = append(out, finding{meridian.DriftNotReady, "Ready",
				fmt.Sprintf("Ready=%s for %s %s", c.Status, now.Sub(since).Round(time.Second), describe(c))})
		}
	}
	slices.SortStableFunc(out, func(a, b finding) int { return rank(a.action) - rank(b.action) })
	return out
}

func rank(action string) int {
	return slices.Index([]string{meridian.DriftMissing, meridian.DriftSyncFailed, meridian.DriftSpecChanged, meridian.DriftNotReady}, action)
}

// conditions reads status.conditions with crossplane-runtime's types. A
// status that does not parse reads as no conditions: Ready then counts as
// Unknown, which the grace period turns into drift if it lasts.
func conditions(obs *unstructured.Unstructured) *xpv1.ConditionedStatus {
	cs := &xpv1.ConditionedStatus{}
	st, ok := obs.Object["status"].(map[string]any)
	if !ok {
		return cs
	}
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(st, cs)
	return cs
}

// describe is a condition's reason and message, as the provider wrote them.
func describe(c xpv1.Condition) string {
	s := "(" + string(c.Reason)
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s + ")"
}

// externalName is the rendered external name, when Meridian sets one.
func externalName(o *unstructured.Unstructured) (string, bool) {
	v, ok := o.GetAnnotations()[meta.AnnotationKeyExternalName]
	return v, ok
}
