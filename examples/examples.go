// Package examples bundles the example config repos into the binary, so
// that `meridian demo` runs without a checkout of this repository.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:hybrid
var bundled embed.FS

// Hybrid is examples/hybrid: a config repo of workloads placed across
// clouds, on-prem sites and edge hubs, with Terraform modules that need no
// cloud account.
func Hybrid() fs.FS {
	sub, err := fs.Sub(bundled, "hybrid")
	if err != nil {
		panic(err) // the embedded tree always has the folder
	}
	return sub
}
