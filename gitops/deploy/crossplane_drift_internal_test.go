package deploy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCrossplaneDesired checks which committed files get the grace: only
// those Meridian's last commit added or changed, so that a later,
// unrelated commit never hides drift that was already open. Files outside
// infra/ are not Crossplane resources.
func TestCrossplaneDesired(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	doc := func(name, region string) []byte {
		return []byte("apiVersion: s3.aws.m.upbound.io/v1beta1\nkind: Bucket\nmetadata: {name: " + name + ", namespace: api}\nspec:\n  forProvider: {region: " + region + "}\n")
	}
	tree := Tree{
		"infra/api/aws/bucket.yaml": doc("unchanged", "eu-west-1"),
		"infra/api/aws/logs.yaml":   doc("changed", "eu-west-1"),
		"infra/web/aws/bucket.yaml": doc("added", "eu-west-1"),
		"apps/api/aws.yaml":         []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: app}\n"),
	}
	prev := Tree{
		"infra/api/aws/bucket.yaml": doc("unchanged", "eu-west-1"),
		"infra/api/aws/logs.yaml":   doc("changed", "eu-west-2"),
	}
	got, err := crossplaneDesired(tree, prev, at)
	if err != nil {
		t.Fatal(err)
	}
	since := map[string]time.Time{}
	for target, ds := range got {
		for _, d := range ds {
			since[target+"/"+d.Workload+"/"+d.Object.GetName()] = d.Since
		}
	}
	want := map[string]time.Time{"aws/api/unchanged": {}, "aws/api/changed": at, "aws/web/added": at}
	if diff := cmp.Diff(want, since); diff != "" {
		t.Errorf("desired resources and since (-want +got):\n%s", diff)
	}
	if _, err := crossplaneDesired(Tree{"infra/api/aws/x.yaml": []byte("kind: [")}, nil, at); err == nil {
		t.Error("a file that does not parse must fail the check, naming it")
	} else if !cmp.Equal(err.Error()[:len("infra/api/aws/x.yaml")], "infra/api/aws/x.yaml") {
		t.Errorf("error %q does not name the file first", err)
	}
}
