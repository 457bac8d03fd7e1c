package providers_test

import (
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// The worked example of docs/pricing.md: a workload of 3 replicas of
// 0.5 vCPU / 2 GiB with 100 GB of storage and 500 GB of egress a month, on
// the catalog's aws/us-east-1 rates.
func ExampleResolve() {
	c, err := providers.DefaultCatalog()
	if err != nil {
		panic(err)
	}
	t := &meridian.Target{Name: "aws-use1", Provider: meridian.ProviderAWS, Region: "us-east-1",
		Pricing: meridian.Pricing{Catalog: true}}
	r, err := providers.Resolve(c, t)
	if err != nil {
		panic(err)
	}
	w := &meridian.Workload{Name: "api", PerReplica: meridian.PerReplica{VCPU: 0.5, MemoryGiB: 2},
		StorageGB: 100, EgressGBMonth: 500}
	cost := meridian.MonthlyCost(w, 3, r)
	fmt.Printf("rates %s: vcpu_hour %.12f gib_hour %.12f egress_gb %.2f storage_gb_month %.2f\n",
		r.Source, r.VCPUHour, r.GiBHour, r.EgressGB, r.StorageGBMonth)
	fmt.Printf("compute %.2f storage %.2f egress %.2f total %.2f\n",
		cost.Compute.Round(), cost.Storage.Round(), cost.Egress.Round(), cost.Total().Round())
	// Output:
	// rates catalog:aws/us-east-1: vcpu_hour 0.031247101464 gib_hour 0.004188224634 egress_gb 0.09 storage_gb_month 0.10
	// compute 52.56 storage 10.00 egress 45.00 total 107.56
}

// The spread example of docs/pricing.md: the same workload with spread 2 and
// 4 replicas, so 2 on each of aws/us-east-1 and gcp/europe-west1. Each target
// is charged the full storage and half of the egress.
func ExampleResolve_spread() {
	c, err := providers.DefaultCatalog()
	if err != nil {
		panic(err)
	}
	w := &meridian.Workload{Name: "api", PerReplica: meridian.PerReplica{VCPU: 0.5, MemoryGiB: 2},
		StorageGB: 100, EgressGBMonth: 500, Requires: meridian.Requirements{Spread: 2}}
	_, perTarget := w.SplitReplicas(4)
	var sum meridian.Money
	for _, t := range []*meridian.Target{
		{Name: "aws-use1", Provider: meridian.ProviderAWS, Region: "us-east-1", Pricing: meridian.Pricing{Catalog: true}},
		{Name: "gcp-euw1", Provider: meridian.ProviderGCP, Region: "europe-west1", Pricing: meridian.Pricing{Catalog: true}},
	} {
		r, err := providers.Resolve(c, t)
		if err != nil {
			panic(err)
		}
		cost := meridian.MonthlyCost(w, perTarget, r)
		sum += cost.Total()
		fmt.Printf("%s: %d replicas, compute %.2f storage %.2f egress %.2f total %.2f\n", t.Name, perTarget,
			cost.Compute.Round(), cost.Storage.Round(), cost.Egress.Round(), cost.Total().Round())
	}
	fmt.Printf("workload total %.2f\n", sum.Round())
	// Output:
	// aws-use1: 2 replicas, compute 35.04 storage 10.00 egress 22.50 total 67.54
	// gcp-euw1: 2 replicas, compute 38.99 storage 9.31 egress 27.94 total 76.25
	// workload total 143.79
}
