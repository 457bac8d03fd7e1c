// Package azure is the Azure backend of package providers: it knows Azure
// region names (armRegionName) and parses pages of the Azure Retail Prices
// API (prices.azure.com/api/retail/prices) with ParsePage.
//
// The Retail Prices API lists Windows, Spot and Low Priority meters beside
// the plain Linux on-demand price of a VM size, all with type Consumption;
// Item.OnDemandLinux tells them apart by name suffix, as
// karpenter-provider-azure does. Managed disks are priced per disk tier and
// month, not per GB; DiskTierGiB gives the tier sizes needed to derive a
// per-GB price.
//
// The parser is used to cross-check the embedded catalog against recorded
// real API pages (testdata/); a plan never calls the API.
package azure
