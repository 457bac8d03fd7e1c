package providers

import (
	"fmt"
	"math"
	"strings"

	"github.com/meridianhq/meridian"
)

// Resolve returns the unit rates for target t: the catalog's rates for its
// provider and region when t.Pricing.Catalog is set (Source
// "catalog:<provider>/<region>"), otherwise its explicit pricing (Source
// "target").
//
// It returns a meridian.EINVALID error naming the target, and its file:line
// when known, when the catalog has no row for the provider and region, when
// an onprem or edge target asks for catalog prices, when a target without
// catalog pricing gives neither vcpu_hour nor gib_hour, or when an explicit
// rate is negative or not finite. Explicit egress and storage rates of zero
// are accepted: an on-prem site may well not pay per GB.
func Resolve(c *Catalog, t *meridian.Target) (meridian.Rates, error) {
	p := t.Pricing
	if p.Catalog {
		if !t.Provider.Cloud() {
			return meridian.Rates{}, invalid(t, "pricing.catalog",
				"the price catalog covers only aws, azure and gcp; %s targets need explicit pricing (vcpu_hour, gib_hour, egress_gb, storage_gb_month)", t.Provider)
		}
		if c == nil {
			return meridian.Rates{}, meridian.Errorf(meridian.EINTERNAL, "target %s: no price catalog loaded", t.Name)
		}
		r, ok := c.Rates(t.Provider, t.Region)
		if !ok {
			have := "none"
			if rs := c.Regions(t.Provider); len(rs) > 0 {
				have = strings.Join(rs, ", ")
			}
			return meridian.Rates{}, invalid(t, "region",
				"the price catalog has no %s region %q (it has: %s); give explicit pricing instead of catalog: true", t.Provider, t.Region, have)
		}
		return r, nil
	}
	for _, f := range []struct {
		field string
		v     float64
	}{
		{"pricing.vcpu_hour", p.VCPUHour},
		{"pricing.gib_hour", p.GiBHour},
		{"pricing.egress_gb", p.EgressGB},
		{"pricing.storage_gb_month", p.StorageGBMonth},
	} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return meridian.Rates{}, invalid(t, f.field, "must be a non-negative number, got %v", f.v)
		}
	}
	if p.VCPUHour == 0 && p.GiBHour == 0 {
		hint := "set pricing.catalog: true or give explicit vcpu_hour, gib_hour, egress_gb and storage_gb_month"
		if !t.Provider.Cloud() {
			hint = fmt.Sprintf("%s targets need explicit vcpu_hour, gib_hour, egress_gb and storage_gb_month", t.Provider)
		}
		return meridian.Rates{}, invalid(t, "pricing", "no prices: %s", hint)
	}
	return meridian.Rates{
		VCPUHour:       p.VCPUHour,
		GiBHour:        p.GiBHour,
		EgressGB:       p.EgressGB,
		StorageGBMonth: p.StorageGBMonth,
		Source:         "target",
	}, nil
}

// invalid builds the EINVALID error for a target's field, prefixed with the
// field's file:line when the target came from a config file, so that a user
// can jump to it.
func invalid(t *meridian.Target, field, format string, args ...any) error {
	msg := fmt.Sprintf("target %s: %s: %s", t.Name, field, fmt.Sprintf(format, args...))
	if t.Origin.File != "" {
		loc := t.Origin.File
		if l := t.Origin.LineOf(field); l > 0 {
			loc = fmt.Sprintf("%s:%d", loc, l)
		}
		msg = loc + ": " + msg
	}
	return meridian.Errorf(meridian.EINVALID, "%s", msg)
}
