package planner

import (
	"regexp"
	"sort"

	"github.com/meridianhq/meridian"
)

// destroyPlan completes plan.Destroy once the Terraform stage and the
// deploy preview have run. It lists every target and workload that left
// the config while the applied state still has something of it:
//
//   - a target whose Terraform workspace the Terraform stage plans to
//     destroy (a decommission change), or that runs workloads per the
//     ledger, or whose files the deploy repo prunes;
//   - a workload the ledger says runs somewhere, or whose files the deploy
//     repo prunes;
//
// with what an apply destroys for each: Terraform resources (a removed
// workload's are the resources of its for_each key on each target), the
// deploy-repo files pruned, those of a removed target that moves keep
// until its workloads run elsewhere, and the Crossplane resources among
// them with their deletion policy. Protected targets the Terraform stage listed stay
// as they are.
func destroyPlan(cfg *meridian.Config, current map[string][]string, plan *meridian.Plan) {
	targets, workloads := map[string]*meridian.Target{}, map[string]bool{}
	for i := range cfg.Targets {
		targets[cfg.Targets[i].Name] = &cfg.Targets[i]
	}
	for _, w := range cfg.Workloads {
		workloads[w.Name] = true
	}
	items := map[string]*meridian.DestroyItem{}
	for i := range plan.Destroy {
		d := plan.Destroy[i]
		items[d.Key()] = &d
	}
	item := func(kind, name string) *meridian.DestroyItem {
		d := meridian.DestroyItem{Kind: kind, Name: name, Reason: meridian.DestroyRemoved}
		if kind == meridian.DestroyTarget && targets[name] != nil {
			d.Reason = meridian.DestroyNoTerraform
		}
		if got, ok := items[d.Key()]; ok {
			return got
		}
		items[d.Key()] = &d
		return &d
	}
	for w, ts := range current {
		if !workloads[w] {
			item(meridian.DestroyWorkload, w)
		}
		for _, t := range ts {
			if targets[t] == nil {
				item(meridian.DestroyTarget, t)
			}
		}
	}
	for _, c := range plan.Terraform {
		if c.Decommission {
			d := item(meridian.DestroyTarget, c.Target)
			d.Terraform = append(d.Terraform, meridian.DestroyTerraform{Target: c.Target, Resources: len(c.Destroy), Addresses: c.Destroy, Error: c.Error})
			continue
		}
		// A removed workload's resources go in its targets' normal plans.
		byWorkload := map[string][]string{}
		for _, a := range c.Destroy {
			if w := instanceKey(a); w != "" && !workloads[w] && items[meridian.DestroyWorkload+"/"+w] != nil {
				byWorkload[w] = append(byWorkload[w], a)
			}
		}
		for w, addrs := range byWorkload {
			d := item(meridian.DestroyWorkload, w)
			d.Terraform = append(d.Terraform, meridian.DestroyTerraform{Target: c.Target, Resources: len(addrs), Addresses: addrs})
		}
	}
	if plan.Deploy != nil {
		for _, f := range plan.Deploy.Files {
			if f.Action != meridian.DeployRemove {
				continue
			}
			var owners []*meridian.DestroyItem
			if f.Target != "" && targets[f.Target] == nil {
				owners = append(owners, item(meridian.DestroyTarget, f.Target))
			}
			if f.Workload != "" && !workloads[f.Workload] {
				owners = append(owners, item(meridian.DestroyWorkload, f.Workload))
			}
			for _, d := range owners {
				if d.Protected {
					continue
				}
				d.DeployFiles = append(d.DeployFiles, f.Path)
				if f.Resource != nil {
					d.Crossplane = append(d.Crossplane, *f.Resource)
				}
			}
		}
		// A removed target's workloads move away make-before-break: its
		// files go once they run elsewhere.
		for _, h := range plan.Deploy.Held {
			if targets[h.Target] != nil {
				continue
			}
			if d := item(meridian.DestroyTarget, h.Target); !d.Protected {
				d.Moving = append(d.Moving, h.Files...)
				d.Crossplane = append(d.Crossplane, h.Resources...)
			}
		}
	}
	plan.Destroy = nil
	for _, d := range items {
		sort.Slice(d.Terraform, func(i, j int) bool { return d.Terraform[i].Target < d.Terraform[j].Target })
		sort.Strings(d.DeployFiles)
		sort.Strings(d.Moving)
		plan.Destroy = append(plan.Destroy, *d)
	}
	sort.Slice(plan.Destroy, func(i, j int) bool {
		a, b := plan.Destroy[i], plan.Destroy[j]
		if a.Kind != b.Kind {
			return a.Kind == meridian.DestroyTarget
		}
		return a.Name < b.Name
	})
}

// instanceKeyRE matches the last instance key of a resource address
// (aws_s3_bucket.data["api"], module.x.y.z["api"] (deposed 1a2b)).
var instanceKeyRE = regexp.MustCompile(`\["([^"]*)"\](?: \(deposed [^)]*\))?$`)

// instanceKey is the for_each key of a resource address, "" for none:
// Meridian's modules key a workload's resources by its name.
func instanceKey(addr string) string {
	if m := instanceKeyRE.FindStringSubmatch(addr); m != nil {
		return m[1]
	}
	return ""
}
