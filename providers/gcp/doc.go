// Package gcp is the Google Cloud backend of package providers: it knows
// Compute Engine region names and parses Cloud Billing Catalog API SKU
// listings (services/6F81-5844-456A/skus) with ParseSKUs.
//
// Cloud Billing prices are google.type.Money values (whole units plus
// nanos) and may be tiered by monthly usage; PricingExpression.UnitPrice and
// PricingExpression.Cost read them. Compute Engine bills N2 and most other
// machine families per vCPU-hour and per GiB-hour, which is why the catalog
// splits instance prices the same way.
//
// The parser is used to cross-check the embedded catalog against recorded
// real SKU records (testdata/); a plan never calls the API.
package gcp
