// Package examples bundles the example config repos into the binary, so
// that `meridian demo` runs without a checkout of this repository.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed all:hybrid all:edge-50
var bundled embed.FS

// Hybrid is examples/hybrid: a config repo of workloads placed across
// clouds, on-prem sites and edge hubs, with Terraform modules that need no
// cloud account.
func Hybrid() fs.FS { return sub("hybrid") }

// EdgeFifty is examples/edge-50: the reference architecture's two tiers,
// 50 K3s edge sites running Calico in three regions and centre clusters
// on-prem, on AWS and on Azure, with network isolation and traffic rules.
// scripts/gen-edge-50.sh generates it.
func EdgeFifty() fs.FS { return sub("edge-50") }

func sub(dir string) fs.FS {
	sub, err := fs.Sub(bundled, dir)
	if err != nil {
		panic(err) // the embedded tree always has the folder
	}
	return sub
}
