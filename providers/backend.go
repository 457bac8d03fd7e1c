package providers

import "github.com/meridianhq/meridian"

// Backend is one provider's adapter. Prices never come from a backend at plan
// time (they come from the Catalog or the target), so a backend only has to
// say which provider it adapts and which region names that provider uses.
//
// Both methods are pure: they return the same answer on every call, do no
// I/O and are safe for concurrent use.
type Backend interface {
	// Provider returns the provider this backend adapts.
	Provider() meridian.Provider
	// Regions returns the region codes the backend knows, sorted and unique.
	// Every catalog region of the provider is among them. It is empty for
	// providers whose region names are free-form site names (onprem, edge).
	Regions() []string
}
