// Package meridian holds Meridian's domain model: the targets and workloads a
// config repo declares, the placements the scheduler chooses, the findings the
// policy engine raises, and the Plan that ties them together.
//
// It imports only the standard library. Every stage package (gitops, policies,
// forecast, scheduler, providers, terraform, web, store) imports this package
// and none of the others; planner is the one package that strings the stages
// together, and cmd/meridian only wires things up.
package meridian
