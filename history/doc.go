// Package history is the pure logic of the control plane's record of what
// happened over time: the lifecycle of findings across the plans of a
// branch (open, still open, resolved, waived, waiver expired) and the cost
// of a plan broken down by target, provider, team, cost-center and env.
//
// It does no I/O: the caller loads the previous records from the store,
// calls Transition with the newest plan's findings, and saves the result
// and its events in one store transaction.
package history
