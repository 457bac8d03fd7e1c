// Package scheduler places workloads on targets at minimum total monthly
// cost, subject to placement policy, target capacity, spread, pins and
// migration hysteresis.
//
// The model is a generalized assignment problem in which only the
// capacity-limited targets (on-prem clusters, edge sites, clouds with a
// quota) couple the workloads; uncapacitated clouds never compete, so each
// workload's cheapest uncapacitated option is a private upper bound on what
// it pays. Solve therefore relaxes the capacity rows in a Lagrangian fashion,
// maximizes the resulting lower bound with a deflected subgradient method,
// turns every dual iterate into a feasible placement (repair, best-response
// sweeps and 1-in-1-out swaps on the capacitated targets), and closes what
// gap is left with a depth-first branch-and-bound over the options whose
// Lagrangian reduced cost still fits into the gap. Small instances are
// thereby solved to proven optimality; large ones stop at the configured gap
// tolerance or time limit with a proven lower bound.
//
// Everything is deterministic for a given Problem as long as the solver
// stops by proven gap rather than by time limit: iteration counts, tie
// breaks and outputs never depend on the clock or on map order.
//
// See docs/placement.md for the semantics and the benchmark.
package scheduler
