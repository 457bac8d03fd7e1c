package policies_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
)

// TestCheckLiveOrgRule: an org rule judges live resources on a field the
// config has no word for (input.live.key.rotation_enabled), and stays
// silent on the config, which has no input.live.
func TestCheckLiveOrgRule(t *testing.T) {
	const rotation = `package meridian.org.workload.rotation

deny contains {"id": "ORG-KEY-001", "msg": "key does not rotate", "field": "key.rotation_enabled"} if {
	input.live.kind == "key"
	not input.live.key.rotation_enabled
}
`
	ctx := t.Context()
	eng, err := policies.New(ctx, meridian.Settings{}, map[string]string{"policies/rotation.rego": rotation})
	if err != nil {
		t.Fatal(err)
	}
	key := func(id string, rotates bool) *meridian.LiveResource {
		return &meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: meridian.LiveKey, ID: id, Name: id,
			Key: &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true, RotationEnabled: rotates}}
	}
	got, err := eng.CheckLive(ctx, []policies.LiveSubject{{Resource: key("k1", false)}, {Resource: key("k2", true)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []meridian.Finding{{Rule: "ORG-KEY-001", Severity: meridian.SeverityDeny, Field: "key.rotation_enabled",
		Message: "key k1: key does not rotate", Source: meridian.FindingSourceLive, Resource: "k1"}}
	if diff := cmp.Diff(want, got.All()); diff != "" {
		t.Errorf("live findings (-want +got):\n%s", diff)
	}
	if len(got.Placement) != 0 {
		t.Errorf("placement findings without an owner: %v", got.Placement)
	}
	cfgFindings, err := eng.CheckWorkloads(ctx, []meridian.Workload{{Name: "api"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgFindings) != 0 {
		t.Errorf("the live rule fired on the config: %v", cfgFindings)
	}
}
