// Package pricing refreshes the price catalog from the clouds' price APIs
// (`meridian prices refresh`, and `meridian serve --prices-refresh-interval`)
// and compares catalogs rate by rate.
//
// Plans never call a price API: they read the embedded catalog, or the file
// that `pricing.catalog` in meridian.yaml names, so a plan stays a function
// of its Git inputs. This package only writes such files.
package pricing
