// Package policies evaluates Meridian's Rego policies: the built-in rule
// library embedded under builtin/ and the organisation's own rules from the
// config repo's policy files.
//
// There are two kinds of rule. Workload rules see input.workload and
// input.settings and produce Findings for one workload (a missing required
// tag, a malformed tag value). Placement rules also see input.target and
// decide whether a workload may run on a target; the planner turns their
// Violations into rejection reasons, or into Findings for pinned and applied
// targets (see PlacementFinding).
//
// A plan asks about every (workload, target) pair, so CheckPlacements never
// evaluates pairs one by one. At New it reads which input paths each rule
// package can observe (following its references into other packages), and
// at check time it projects every workload and target onto those paths and
// evaluates each distinct pair of projections once. Rules that read only
// requires.* and a target's capabilities therefore cost a handful of
// evaluations however many workloads there are; a rule that reads a whole
// workload, or its name, still gives the right answer, only without the
// saving. docs/policies.md is the user-facing contract.
package policies
