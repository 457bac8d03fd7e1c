package workflow_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/gitops/deploy"
	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/terraform"
	"github.com/meridianhq/meridian/terraform/workflow"
)

// TestDriftLifecycle edits a target's Terraform state behind Meridian's
// back, checks drift twice, puts the state back and checks again, through
// controlplane.CheckDrift as `meridian drift` and the server do: the
// records open once with their first seen, the second check only moves
// last seen, the fix clears them, and the event log says drift.opened then
// drift.cleared. The drifted resource holds a sensitive value, which must
// reach the record redacted.
func TestDriftLifecycle(t *testing.T) {
	f := newFixture(t)
	db := f.open(t)
	wf := f.workflow(t, db, workflow.Options{})
	f.applyAll(t, wf, initial)
	ctx := context.Background()
	repo := f.src.RepoID()
	check := func(what string) *controlplane.DriftOutcome {
		t.Helper()
		// No config: the deploy check is skipped, Terraform's is not.
		out, err := controlplane.CheckDrift(ctx, wf, db, deploy.Options{}, nil, f.src)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if out.DriftReport.Errored() {
			t.Fatalf("%s: %+v", what, out.Targets)
		}
		if diff := cmp.Diff([]meridian.DriftEngine{meridian.DriftEngineTerraform}, out.Engines); diff != "" {
			t.Errorf("%s: engines checked (-want +got):\n%s", what, diff)
		}
		return out
	}
	if out := check("right after apply"); len(out.Events) != 0 || len(out.Open) != 0 {
		t.Fatalf("drift right after apply: events %+v, open %+v", out.Events, out.Open)
	}

	// Out of band: someone edits east's state, setting api's replicas.
	statePath := filepath.Join(f.stateDir, "workspaces", repo, "east", "terraform.tfstate")
	orig, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(statePath, editReplicas(t, orig, "api", 7), 0o600); err != nil {
		t.Fatal(err)
	}

	first := check("first check after the edit")
	if got := eventTypes(first.Events); !cmp.Equal(got, []meridian.EventType{meridian.EventDriftOpened, meridian.EventDriftOpened}) {
		t.Fatalf("first check's events = %v, want two drift.opened (the state write and api's resource)", got)
	}
	byResource := func(ds []meridian.DriftRecord) map[string]meridian.DriftRecord {
		out := map[string]meridian.DriftRecord{}
		for _, d := range ds {
			out[d.Resource] = d
		}
		return out
	}
	open1 := byResource(first.Open)
	const addr = `terraform_data.workload["api"]`
	api, state := open1[addr], open1[""]
	if api.ID == 0 || state.ID == 0 || len(open1) != 2 {
		t.Fatalf("open records after the first check = %+v, want the state and %s", first.Open, addr)
	}
	if api.Engine != meridian.DriftEngineTerraform || api.Target != "east" || api.Workload != "api" || api.FirstSeen.IsZero() || !api.LastSeen.Equal(api.FirstSeen) {
		t.Errorf("api's record = %+v, want engine terraform on east for workload api, first seen = last seen", api)
	}
	if !strings.Contains(api.Expected, `"replicas":2`) || !strings.Contains(api.Actual, `"replicas":7`) {
		t.Errorf("api's record: expected %s, actual %s; want the applied replicas 2 against the edited 7", api.Expected, api.Actual)
	}
	for _, v := range []string{api.Expected, api.Actual} {
		if strings.Contains(v, secret) || !strings.Contains(v, terraform.Redacted) {
			t.Errorf("the sensitive token must be redacted in %s", v)
		}
	}
	if state.Action != "state" || !strings.Contains(state.Actual, "written outside Meridian") {
		t.Errorf("the state record = %+v", state)
	}

	second := check("second check")
	if len(second.Events) != 0 {
		t.Errorf("the second check saw the same drift: events %+v, want none", second.Events)
	}
	open2 := byResource(second.Open)
	for res, d1 := range open1 {
		d2 := open2[res]
		if d2.ID != d1.ID || !d2.FirstSeen.Equal(d1.FirstSeen) || !d2.LastSeen.After(d1.LastSeen) || !d2.ClearedAt.IsZero() {
			t.Errorf("%q after the second check = %+v; want record %d first seen %v, last seen after %v", res, d2, d1.ID, d1.FirstSeen, d1.LastSeen)
		}
	}

	// The fix: the state as Meridian applied it.
	if err := os.WriteFile(statePath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	fixed := check("check after the fix")
	if got := eventTypes(fixed.Events); !cmp.Equal(got, []meridian.EventType{meridian.EventDriftCleared, meridian.EventDriftCleared}) {
		t.Errorf("events after the fix = %v, want two drift.cleared", got)
	}
	if len(fixed.Open) != 0 {
		t.Errorf("open drift after the fix: %+v", fixed.Open)
	}
	cleared, err := db.ListDrift(ctx, store.DriftFilter{RepoID: repo, State: store.DriftCleared})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range cleared {
		if d1, ok := open1[d.Resource]; !ok || d.ID != d1.ID || !d.FirstSeen.Equal(d1.FirstSeen) || d.ClearedAt.Before(d.LastSeen) {
			t.Errorf("cleared record %+v: want one of the first check's, cleared after it was last seen", d)
		}
	}
	if len(cleared) != 2 {
		t.Errorf("%d cleared records, want 2", len(cleared))
	}
	evs, err := db.EventsAfter(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var log []meridian.EventType
	for _, ev := range evs {
		if ev.RepoID == repo {
			log = append(log, ev.Type)
		}
	}
	want := []meridian.EventType{meridian.EventDriftOpened, meridian.EventDriftOpened, meridian.EventDriftCleared, meridian.EventDriftCleared}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("event log (-want +got):\n%s", diff)
	}
}

func eventTypes(evs []meridian.Event) []meridian.EventType {
	out := []meridian.EventType{}
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// editReplicas sets the replicas in the input of workload's
// terraform_data.workload instance of a local state file and bumps its
// serial, as a hand edit or a `terraform state push` would.
func editReplicas(t *testing.T, state []byte, workload string, replicas int) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(state, &doc); err != nil {
		t.Fatal(err)
	}
	doc["serial"] = doc["serial"].(float64) + 1
	var edited bool
	for _, r := range doc["resources"].([]any) {
		r := r.(map[string]any)
		if r["type"] != "terraform_data" || r["name"] != "workload" {
			continue
		}
		for _, in := range r["instances"].([]any) {
			in := in.(map[string]any)
			if in["index_key"] != workload {
				continue
			}
			input := in["attributes"].(map[string]any)["input"].(map[string]any)
			input["value"].(map[string]any)["replicas"] = replicas
			edited = true
		}
	}
	if !edited {
		t.Fatalf("no terraform_data.workload[%q] in the state", workload)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
