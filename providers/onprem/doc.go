// Package onprem is the providers.Backend for on-prem clusters and edge
// sites. Their costs are not in any public price list: a target states its
// own amortized rates in its pricing block (vcpu_hour, gib_hour, egress_gb,
// storage_gb_month), and providers.Resolve refuses catalog pricing for it.
// Site names are the operator's own, so the backend knows no regions.
//
// The package exists so that the conformance suite in providertest pins the
// explicit-pricing contract for these providers as it does for the clouds.
package onprem
