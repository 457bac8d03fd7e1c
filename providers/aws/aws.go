package aws

import (
	"slices"

	"github.com/meridianhq/meridian"
)

// regions maps AWS region codes to the location names the Price List API
// uses for them. Older price-list items carry only the location name, not a
// regionCode attribute.
var regions = map[string]string{
	"ap-southeast-1": "Asia Pacific (Singapore)",
	"eu-central-1":   "EU (Frankfurt)",
	"eu-west-1":      "EU (Ireland)",
	"us-east-1":      "US East (N. Virginia)",
	"us-east-2":      "US East (Ohio)",
	"us-west-2":      "US West (Oregon)",
}

// Backend is the AWS providers.Backend.
type Backend struct{}

// New returns the AWS backend.
func New() Backend { return Backend{} }

// Provider returns meridian.ProviderAWS.
func (Backend) Provider() meridian.Provider { return meridian.ProviderAWS }

// Regions returns the AWS region codes the backend knows, sorted.
func (Backend) Regions() []string {
	out := make([]string, 0, len(regions))
	for r := range regions {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// RegionOfLocation returns the region code for a Price List location name
// such as "US East (N. Virginia)".
func RegionOfLocation(location string) (string, bool) {
	for code, loc := range regions {
		if loc == location {
			return code, true
		}
	}
	return "", false
}
