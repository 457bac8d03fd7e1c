package policies_test

import (
	"strings"
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

// TestCheckLiveRemediation: a live finding carries its rule's remediation
// from the rule's METADATA, as a config finding does, adapted to the
// resource: the live advice when the rule has one, the resource's ID, and
// where the config declares its owning workload and target.
func TestCheckLiveRemediation(t *testing.T) {
	const rotation = `# METADATA
# title: rotation
# custom:
#   id: ORG-KEY-001
#   severity: deny
#   remediation: Turn on automatic rotation of the key.
package meridian.org.workload.rotation

import data.meridian.lib.result

deny contains result.finding(rego.metadata.chain(), "key does not rotate", "key.rotation_enabled") if {
	input.live.kind == "key"
	not input.live.key.rotation_enabled
}
`
	const silent = `package meridian.org.workload.silent

deny contains {"id": "ORG-VM-001", "msg": "vm is named tmp", "field": "name"} if input.live.name == "tmp"
`
	ctx := t.Context()
	eng, err := policies.New(ctx, meridian.Settings{RequiredTags: []string{"owner"}},
		map[string]string{"policies/rotation.rego": rotation, "policies/silent.rego": silent})
	if err != nil {
		t.Fatal(err)
	}
	api := &meridian.Workload{Name: "api", Tags: map[string]string{"owner": "alice"},
		Requires: meridian.Requirements{Encryption: meridian.EncryptionCustomerManaged, LogRetentionDays: 400},
		Origin:   meridian.Origin{File: "workloads/api.yaml", Line: 1, Lines: map[string]int{"requires.encryption": 7, "requires.log_retention_days": 8}}}
	aws := &meridian.Target{Name: "aws-eu", Provider: meridian.ProviderAWS, LogRetentionMaxDays: 3650,
		Encryption: meridian.TargetEncryption{KMS: "aws-kms", CustomerManagedKeys: true},
		Origin:     meridian.Origin{File: "targets/aws-eu.yaml", Line: 2}}
	owned := map[string]string{"owner": "alice", "meridian-workload": "api", "meridian-target": "aws-eu"}
	cases := map[string]struct {
		reason  string
		subject policies.LiveSubject
		rule    string
		// says are what the remediation must say; not what it must not.
		says []string
		not  []string
	}{
		"BucketLostItsKey": {
			reason: "A bucket changed out of band to the provider's key gets the encryption rule's live advice, not the config's (move the workload), with its ARN and the files of its workload and target.",
			subject: policies.LiveSubject{Workload: api, Target: aws, Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: meridian.LiveBucket,
				ID: "arn:aws:s3:::api-data", Name: "api-data", Tags: owned, Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}}},
			rule: "MER-ENC-001",
			says: []string{"On bucket api-data (arn:aws:s3:::api-data): Encrypt it again", "customer-managed key",
				"Owning workload api: declared in workloads/api.yaml:1.", "Target aws-eu: declared in targets/aws-eu.yaml:2."},
			not: []string{"Place the workload"},
		},
		"LogRetentionCut": {
			reason:  "A log group whose retention was cut gets the retention rule's live advice.",
			subject: policies.LiveSubject{Workload: api, Target: aws, Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: meridian.LiveLogStore, ID: "arn:aws:logs:eu-west-1:1:log-group:/meridian/aws-eu/api", Name: "/meridian/aws-eu/api", Tags: owned, RetentionDays: 30}},
			rule:    "MER-RET-001",
			says:    []string{"(arn:aws:logs:eu-west-1:1:log-group:/meridian/aws-eu/api): Set its retention back", "workloads/api.yaml:1"},
			not:     []string{"Place the workload"},
		},
		"UntaggedVMOfNoWorkload": {
			reason: "An untagged VM no workload owns is told to tag the resource, naming no workload file.",
			subject: policies.LiveSubject{Target: aws, Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: meridian.LiveVM,
				ID: "i-0abc", Name: "batch-1"}},
			rule: "MER-TAG-001",
			says: []string{"On vm batch-1 (i-0abc): Tag the resource", "Target aws-eu: declared in targets/aws-eu.yaml:2."},
			not:  []string{"Owning workload", "workload's tags block"},
		},
		"OrgRuleFallsBack": {
			reason: "An org rule without a live_remediation gives its own remediation, adapted to the resource.",
			subject: policies.LiveSubject{Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS, Kind: meridian.LiveKey, ID: "arn:aws:kms:eu-west-1:1:key/k1", Name: "k1",
				Tags: map[string]string{"owner": "alice"}, Key: &meridian.LiveKeyInfo{Level: meridian.EncryptionCustomerManaged, CustomerManaged: true}}},
			rule: "ORG-KEY-001",
			says: []string{"On key k1 (arn:aws:kms:eu-west-1:1:key/k1): Turn on automatic rotation of the key."},
			not:  []string{"Owning workload", "Target "},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := eng.CheckLive(ctx, []policies.LiveSubject{tc.subject})
			if err != nil {
				t.Fatal(err)
			}
			var f *meridian.Finding
			for _, g := range got.All() {
				if g.Rule == tc.rule {
					f = &g
				}
			}
			if f == nil {
				t.Fatalf("%s\nno %s finding in %+v", tc.reason, tc.rule, got.All())
			}
			for _, s := range tc.says {
				if !strings.Contains(f.Remediation, s) {
					t.Errorf("%s\nremediation %q lacks %q", tc.reason, f.Remediation, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(f.Remediation, s) {
					t.Errorf("%s\nremediation %q says %q", tc.reason, f.Remediation, s)
				}
			}
		})
	}

	// A rule without any remediation gets none: the resource alone is no
	// advice.
	got, err := eng.CheckLive(ctx, []policies.LiveSubject{{Resource: &meridian.LiveResource{Kind: meridian.LiveVM, ID: "i-1", Name: "tmp", Tags: map[string]string{"owner": "bob"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if fs := got.All(); len(fs) != 1 || fs[0].Rule != "ORG-VM-001" || fs[0].Remediation != "" {
		t.Errorf("a rule without remediation: findings %+v, want ORG-VM-001 with none", fs)
	}
}

// TestCheckLiveDeclaredNotRepeated: a placement violation the declared
// target raises already is the plan's finding, not a live one, however
// many resources of the owning pair show it; a resource that breaks a
// requirement the declared target meets is a live finding.
func TestCheckLiveDeclaredNotRepeated(t *testing.T) {
	ctx := t.Context()
	eng, err := policies.New(ctx, meridian.Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := &meridian.Workload{Name: "api", Requires: meridian.Requirements{Encryption: meridian.EncryptionCustomerManaged, LogRetentionDays: 400}}
	// The declared target offers no customer-managed keys (MER-ENC-001 on
	// the config) but keeps logs long enough.
	weak := &meridian.Target{Name: "aws-eu", Provider: meridian.ProviderAWS, LogRetentionMaxDays: 3650,
		Encryption: meridian.TargetEncryption{KMS: "aws-kms"}}
	bucket := func(id string) policies.LiveSubject {
		return policies.LiveSubject{Workload: api, Target: weak, Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS,
			Kind: meridian.LiveBucket, ID: id, Name: id, Encryption: &meridian.LiveEncryption{Level: meridian.EncryptionProviderManaged}}}
	}
	logs := policies.LiveSubject{Workload: api, Target: weak, Resource: &meridian.LiveResource{Provider: meridian.ProviderAWS,
		Kind: meridian.LiveLogStore, ID: "lg", Name: "lg", RetentionDays: 30}}
	got, err := eng.CheckLive(ctx, []policies.LiveSubject{bucket("b1"), bucket("b2"), logs})
	if err != nil {
		t.Fatal(err)
	}
	var rules []string
	for _, f := range got.Placement {
		rules = append(rules, f.Rule+" "+f.Resource)
	}
	if want := []string{"MER-RET-001 lg"}; !cmp.Equal(want, rules) {
		t.Errorf("placement findings: got %v, want %v", rules, want)
	}
}
