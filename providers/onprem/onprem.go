package onprem

import "github.com/meridianhq/meridian"

// Backend is the providers.Backend for meridian.ProviderOnPrem or
// meridian.ProviderEdge.
type Backend struct {
	provider meridian.Provider
}

// New returns the backend for on-prem clusters.
func New() Backend { return Backend{provider: meridian.ProviderOnPrem} }

// NewEdge returns the backend for edge sites, which are priced like on-prem
// clusters.
func NewEdge() Backend { return Backend{provider: meridian.ProviderEdge} }

// Provider returns the provider the backend was made for.
func (b Backend) Provider() meridian.Provider { return b.provider }

// Regions returns nil: on-prem and edge site names are free-form.
func (Backend) Regions() []string { return nil }
