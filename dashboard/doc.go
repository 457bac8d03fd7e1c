// Package dashboard builds the view models of the web dashboard from plans,
// configs and the store's history: per-plan aggregates (costs, counts,
// savings, one row per placement), server-side filtering, sorting and
// paging, chart geometry and links into the config repo. It knows nothing
// of HTTP or HTML: package web renders what it returns.
//
// A plan is immutable once saved (its ID is its content), so its aggregate
// is built once and cached by plan ID (see Cache): the overview of a plan
// with ten thousand workloads must not walk the plan on every request.
package dashboard
