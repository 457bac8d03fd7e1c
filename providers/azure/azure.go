package azure

import (
	"slices"

	"github.com/meridianhq/meridian"
)

// regions are the Azure regions (armRegionName) the backend knows: those the
// pricing sources cover.
var regions = []string{"centralus", "eastus", "northeurope", "southeastasia", "westeurope"}

// Backend is the Azure providers.Backend.
type Backend struct{}

// New returns the Azure backend.
func New() Backend { return Backend{} }

// Provider returns meridian.ProviderAzure.
func (Backend) Provider() meridian.Provider { return meridian.ProviderAzure }

// Regions returns the Azure region names the backend knows, sorted.
func (Backend) Regions() []string { return slices.Clone(regions) }
