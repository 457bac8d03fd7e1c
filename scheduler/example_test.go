package scheduler_test

import (
	"context"
	"fmt"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/scheduler"
)

// A 4-vCPU on-prem cluster is cheaper than the cloud for both workloads but
// holds only one of them: the one that saves more gets it.
func ExampleSolve() {
	perVCPU := func(usd float64) meridian.Rates { return meridian.Rates{VCPUHour: usd / meridian.HoursPerMonth} }
	shape := func(name string, vcpu float64) meridian.Workload {
		return meridian.Workload{Name: name, Replicas: meridian.ReplicaRange{Min: 1, Max: 1}, PerReplica: meridian.PerReplica{VCPU: vcpu}}
	}
	res, err := scheduler.Solve(context.Background(), &scheduler.Problem{
		Workloads: []meridian.Workload{shape("api", 2), shape("batch", 4)},
		Targets: []meridian.Target{
			{Name: "aws-us-east-1", Provider: meridian.ProviderAWS},
			{Name: "onprem-dc1", Provider: meridian.ProviderOnPrem, Capacity: meridian.Capacity{VCPU: 4, MemoryGiB: 64}},
		},
		Rates: []meridian.Rates{perVCPU(30), perVCPU(20)},
	})
	if err != nil {
		panic(err)
	}
	for _, pl := range res.Placements {
		fmt.Printf("%s on %s: $%.2f/mo, %s\n", pl.Workload, pl.Target, pl.MonthlyCost, pl.Explanation.Reason)
		for _, cb := range pl.Explanation.CapacityBlocked {
			fmt.Printf("  %s: %s\n", cb.Target, cb.Reason)
		}
	}
	fmt.Printf("optimal: %v (%s)\n", res.Stats.Optimal, res.Stats.Method)
	// Output:
	// api on aws-us-east-1: $60.00/mo, cheapest compliant target with capacity
	//   onprem-dc1: would be $20.00/mo cheaper but has no capacity left after higher-value workloads: it needs 2 vCPU / 0 GiB, only 0 vCPU / 64 GiB left
	// batch on onprem-dc1: $80.00/mo, cheapest compliant target
	// optimal: true (lagrangian+branch-and-bound)
}
