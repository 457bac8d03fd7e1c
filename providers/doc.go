// Package providers prices targets. It ships an embedded price catalog of
// on-demand list prices per cloud provider and region (data/catalog.json),
// and Resolve turns a target's pricing block into the unit rates that
// meridian.MonthlyCost consumes: catalog rates for `pricing.catalog: true`,
// otherwise the target's explicit rates (required for onprem and edge).
//
// Every catalog value names its source, and says whether it was published
// as is, derived by arithmetic from published numbers, or is a fallback
// taken from another region or a documented default; Provenance summarises
// this for the plan. docs/pricing.md explains the figures.
//
// The per-provider subpackages (aws, azure, gcp, onprem) implement Backend:
// they know their provider's region names, and the cloud ones parse that
// provider's raw pricing-API payloads, which is how catalog values are
// cross-checked against recorded real responses. providertest holds the
// conformance suite every backend's test runs.
//
// Plans never call a pricing API: the catalog is data compiled into the
// binary, so that a plan is a pure function of its inputs.
package providers
