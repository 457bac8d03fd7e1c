package policies

import (
	"context"
	"fmt"
	"testing"

	"github.com/meridianhq/meridian"
)

// benchFleet is a realistic plan: 1,000 workloads that share a handful of
// requirement combinations but all have their own name and tags, and 50
// targets across three clouds, on-prem and edge.
func benchFleet() ([]meridian.Workload, []meridian.Target) {
	combos := []meridian.Requirements{
		{Encryption: meridian.EncryptionProviderManaged, LogRetentionDays: 30},
		{Encryption: meridian.EncryptionProviderManaged, LogRetentionDays: 90, Jurisdictions: []string{"eu"}},
		{Encryption: meridian.EncryptionCustomerManaged, LogRetentionDays: 365, Jurisdictions: []string{"eu", "ch"}},
		{Encryption: meridian.EncryptionCustomerManaged, LogRetentionDays: 400, Jurisdictions: []string{"us"}},
		{Encryption: meridian.EncryptionHSM, LogRetentionDays: 2555, Jurisdictions: []string{"eu"}},
		{Encryption: meridian.EncryptionNone},
	}
	classes := []string{"public", "internal", "confidential", "restricted"}
	ws := make([]meridian.Workload, 1000)
	for i := range ws {
		ws[i] = meridian.Workload{
			Name: fmt.Sprintf("svc-%04d", i),
			Tags: map[string]string{
				"owner":       fmt.Sprintf("team-%d", i%37),
				"cost-center": fmt.Sprintf("cc-%04d", i),
				"env":         []string{"prod", "staging", "dev"}[i%3],
				"data-class":  classes[i%len(classes)],
				"service":     fmt.Sprintf("svc-%04d", i),
			},
			Replicas:   meridian.ReplicaRange{Min: 2, Max: 10},
			PerReplica: meridian.PerReplica{VCPU: 0.5 + float64(i%4), MemoryGiB: 1 + float64(i%8), Capacity: 100},
			Requires:   combos[i%len(combos)],
			StorageGB:  float64(i % 500),
			Origin:     meridian.Origin{File: fmt.Sprintf("workloads/svc-%04d.yaml", i), Line: 1},
		}
	}
	providers := []meridian.Provider{meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP, meridian.ProviderOnPrem, meridian.ProviderEdge}
	jurisdictions := []string{"eu", "us", "ch", "uk", "eu", "us", "sg"}
	ts := make([]meridian.Target, 50)
	for j := range ts {
		p := providers[j%len(providers)]
		ts[j] = meridian.Target{
			Name:                fmt.Sprintf("%s-%02d", p, j),
			Provider:            p,
			Region:              fmt.Sprintf("region-%d", j),
			Jurisdiction:        jurisdictions[j%len(jurisdictions)],
			Encryption:          meridian.TargetEncryption{CustomerManagedKeys: j%2 == 0, HSM: j%5 == 0, KMS: fmt.Sprintf("arn:kms:%d", j)},
			LogRetentionMaxDays: []int{30, 365, 3650}[j%3],
			Capacity:            meridian.Capacity{VCPU: 512, MemoryGiB: 2048},
			Labels:              map[string]string{"zone": fmt.Sprintf("z%d", j)},
		}
	}
	return ws, ts
}

// benchOrg is a typical org placement policy: it reads tags and labels by
// constant key, so it deduplicates as well as the built-ins.
var benchOrg = map[string]string{"policies/env.rego": `package meridian.org.placement.env

warn contains {"id": "ORG-ENV-1", "msg": "prod workloads should not run on edge", "field": "tags.env"} if {
	input.workload.tags.env == "prod"
	input.target.provider == "edge"
}
`}

func benchCheckPlacements(b *testing.B, org map[string]string) {
	ctx := context.Background()
	e := newEngine(b, meridian.DefaultSettings(), org)
	ws, ts := benchFleet()
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := e.CheckPlacements(ctx, ws, ts); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkCheckPlacements1000x50 is the built-in library on a full plan.
func BenchmarkCheckPlacements1000x50(b *testing.B) { benchCheckPlacements(b, nil) }

// BenchmarkCheckPlacements1000x50Org adds an org rule that deduplicates.
func BenchmarkCheckPlacements1000x50Org(b *testing.B) { benchCheckPlacements(b, benchOrg) }

// BenchmarkCheckPlacements1000x50ByName adds an org rule that reads the
// workload's name, so no two workloads look the same to its package. The
// rule also reads the target's provider, of which the fleet has 5, so the
// package is evaluated 1,000 × 5 = 5,000 times (not once per pair, 50,000):
// the cost of a rule that reads names, which the built-ins do not pay.
func BenchmarkCheckPlacements1000x50ByName(b *testing.B) {
	benchCheckPlacements(b, map[string]string{"policies/name.rego": `package meridian.org.placement.name

deny contains {"id": "ORG-NAME-1", "msg": "legacy services stay on-prem"} if {
	startswith(input.workload.name, "legacy-")
	input.target.provider != "onprem"
}
`})
}

// BenchmarkCheckWorkloads1000 runs the workload rules, whose input (tags)
// differs for every workload.
func BenchmarkCheckWorkloads1000(b *testing.B) {
	ctx := context.Background()
	s := meridian.DefaultSettings()
	s.TagFormats = map[string]string{"cost-center": `cc-[0-9]{4}`, "env": "prod|staging|dev"}
	e := newEngine(b, s, nil)
	ws, _ := benchFleet()
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := e.CheckWorkloads(ctx, ws); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}

// BenchmarkNew compiles the built-in library and one org package.
func BenchmarkNew(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	cpu := startCPU(b)
	for b.Loop() {
		if _, err := New(ctx, meridian.DefaultSettings(), benchOrg); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
}
