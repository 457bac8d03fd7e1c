package pricing

import (
	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

// Change is one rate that differs between two catalogs, in the units plans
// apply (per GB, per hour).
type Change struct {
	Provider meridian.Provider `json:"provider"`
	Region   string            `json:"region"`
	// Rate is vcpu_hour, gib_hour, storage_gb_month, egress_gb, or "row"
	// when the region is only in one catalog.
	Rate string  `json:"rate"`
	Old  float64 `json:"old"`
	New  float64 `json:"new"`
}

// Changes lists the rates that differ between old and new, in provider and
// region order, with rows only old has last. A region in only one catalog
// is one "row" change with 1 on the side that has it.
func Changes(old, new *providers.Catalog) []Change {
	var out []Change
	seen := map[string]bool{}
	for _, n := range new.Entries() {
		seen[string(n.Provider)+"/"+n.Region] = true
		o, ok := old.Rates(n.Provider, n.Region)
		if !ok {
			out = append(out, Change{Provider: n.Provider, Region: n.Region, Rate: "row", New: 1})
			continue
		}
		nr := n.Rates()
		for _, c := range []struct {
			rate     string
			old, new float64
		}{
			{"vcpu_hour", o.VCPUHour, nr.VCPUHour},
			{"gib_hour", o.GiBHour, nr.GiBHour},
			{"storage_gb_month", o.StorageGBMonth, nr.StorageGBMonth},
			{"egress_gb", o.EgressGB, nr.EgressGB},
		} {
			if c.old != c.new {
				out = append(out, Change{Provider: n.Provider, Region: n.Region, Rate: c.rate, Old: c.old, New: c.new})
			}
		}
	}
	for _, o := range old.Entries() {
		if !seen[string(o.Provider)+"/"+o.Region] {
			out = append(out, Change{Provider: o.Provider, Region: o.Region, Rate: "row", Old: 1})
		}
	}
	return out
}
