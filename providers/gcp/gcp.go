package gcp

import (
	"slices"

	"github.com/meridianhq/meridian"
)

// regions are the Compute Engine regions the backend knows: those the
// pricing sources and recorded SKUs name.
var regions = []string{
	"asia-east1", "asia-southeast1", "europe-west1", "europe-west3",
	"us-central1", "us-central2", "us-east1", "us-west1",
}

// Backend is the Google Cloud providers.Backend.
type Backend struct{}

// New returns the Google Cloud backend.
func New() Backend { return Backend{} }

// Provider returns meridian.ProviderGCP.
func (Backend) Provider() meridian.Provider { return meridian.ProviderGCP }

// Regions returns the Compute Engine regions the backend knows, sorted.
func (Backend) Regions() []string { return slices.Clone(regions) }
