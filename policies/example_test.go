package policies_test

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
)

func ExampleEngine_CheckPlacements() {
	ctx := context.Background()
	org := map[string]string{"policies/edge.rego": `package meridian.org.placement.edge

warn contains {"id": "ORG-EDGE-001", "msg": "edge sites have small disks", "field": "target.provider"} if {
	input.target.provider == "edge"
	input.workload.storage_gb > 100
}
`}
	e, err := policies.New(ctx, meridian.DefaultSettings(), org)
	if err != nil {
		fmt.Println(err)
		return
	}
	ws := []meridian.Workload{{
		Name:      "ledger",
		Tags:      map[string]string{"data-class": "restricted"},
		Requires:  meridian.Requirements{Encryption: meridian.EncryptionCustomerManaged},
		StorageGB: 500,
	}}
	ts := []meridian.Target{
		{Name: "dc-1", Provider: meridian.ProviderOnPrem, Encryption: meridian.TargetEncryption{HSM: true}},
		{Name: "store-42", Provider: meridian.ProviderEdge, Encryption: meridian.TargetEncryption{KMS: "local"}},
	}
	out, err := e.CheckPlacements(ctx, ws, ts)
	if err != nil {
		fmt.Println(err)
		return
	}
	for j, t := range ts {
		fmt.Printf("%s: %d violations\n", t.Name, len(out[0][j]))
		for _, v := range out[0][j] {
			fmt.Printf("  %s %s %s: %s\n", v.Severity, v.Rule, v.Field, v.Message)
		}
	}
	// Output:
	// dc-1: 0 violations
	// store-42: 3 violations
	//   deny MER-DATA-001 tags.data-class: data-class restricted must run on-prem; target provider is edge
	//   deny MER-ENC-001 requires.encryption: requires customer-managed encryption; target offers provider-managed
	//   warn ORG-EDGE-001 target.provider: edge sites have small disks
}

func ExampleEngine_CheckWorkloads() {
	ctx := context.Background()
	e, err := policies.New(ctx, meridian.DefaultSettings(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ws := []meridian.Workload{{
		Name: "api",
		Tags: map[string]string{"owner": "payments", "env": "prod"},
		Origin: meridian.Origin{
			File:  "workloads/api.yaml",
			Line:  1,
			Lines: map[string]int{"tags": 3, "tags.owner": 4, "tags.env": 5},
		},
	}}
	fs, err := e.CheckWorkloads(ctx, ws)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range fs {
		fmt.Printf("%s:%d: %s %s: %s\n", f.File, f.Line, f.Severity, f.Rule, f.Message)
	}
	// Output:
	// workloads/api.yaml:3: deny MER-TAG-001: missing required tag "cost-center"
}
