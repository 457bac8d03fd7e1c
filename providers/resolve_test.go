package providers_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/providers"
)

func TestResolve(t *testing.T) {
	c := mustCatalog(t)
	explicit := meridian.Pricing{VCPUHour: 0.02, GiBHour: 0.0025, EgressGB: 0.01, StorageGBMonth: 0.03}
	fromFile := meridian.Origin{File: "targets/dc.yaml", Line: 1, Lines: map[string]int{"pricing": 9, "region": 4}}
	type want struct {
		rates meridian.Rates
		code  string
		msg   string
	}
	cases := map[string]struct {
		reason string
		target meridian.Target
		want   want
	}{
		"catalog region": {
			reason: "A cloud target with catalog: true gets the catalog's row.",
			target: meridian.Target{Name: "aws-use1", Provider: meridian.ProviderAWS, Region: "us-east-1", Pricing: meridian.Pricing{Catalog: true}},
			want: want{rates: meridian.Rates{VCPUHour: 0.031247101464, GiBHour: 0.004188224634, EgressGB: 0.09, StorageGBMonth: 0.1,
				Source: "catalog:aws/us-east-1"}},
		},
		"catalog wins": {
			reason: "Explicit figures beside catalog: true are ignored, as documented. GCP publishes pd-balanced " +
				"at 0.10 per GiB-month and egress at 0.12 per GiB: per GB (10^9 of 2^30 bytes) they are about 7% lower.",
			target: meridian.Target{Name: "gcp-usc1", Provider: meridian.ProviderGCP, Region: "us-central1",
				Pricing: meridian.Pricing{Catalog: true, VCPUHour: 1}},
			want: want{rates: meridian.Rates{VCPUHour: 0.031611, GiBHour: 0.004237,
				EgressGB: 0.12 * 1e9 / (1 << 30), StorageGBMonth: 0.1 * 1e9 / (1 << 30),
				Source: "catalog:gcp/us-central1"}},
		},
		"azure disk per GiB": {
			reason: "An Azure P15 disk costs 38.012142 a month for 256 GiB; applied per GB it must be " +
				"38.012142 / (256 × 1.073741824), not 38.012142 / 256 (the old, 7% too high rate).",
			target: meridian.Target{Name: "az-eus", Provider: meridian.ProviderAzure, Region: "eastus",
				Pricing: meridian.Pricing{Catalog: true}},
			want: want{rates: meridian.Rates{VCPUHour: 0.031247101464, GiBHour: 0.004188224634,
				EgressGB: 0.0725, StorageGBMonth: 38.012142 / 256 * 1e9 / (1 << 30),
				Source: "catalog:azure/eastus"}},
		},
		"cloud explicit": {
			reason: "A cloud target may state its own (e.g. negotiated) prices instead.",
			target: meridian.Target{Name: "aws-usw2", Provider: meridian.ProviderAWS, Region: "us-west-2", Pricing: explicit},
			want:   want{rates: meridian.Rates{VCPUHour: 0.02, GiBHour: 0.0025, EgressGB: 0.01, StorageGBMonth: 0.03, Source: "target"}},
		},
		"onprem explicit": {
			reason: "On-prem costs come from the target.",
			target: meridian.Target{Name: "dc-fra", Provider: meridian.ProviderOnPrem, Region: "fra-1", Pricing: explicit},
			want:   want{rates: meridian.Rates{VCPUHour: 0.02, GiBHour: 0.0025, EgressGB: 0.01, StorageGBMonth: 0.03, Source: "target"}},
		},
		"edge free egress": {
			reason: "An edge site on a flat-rate link may price egress and storage at zero.",
			target: meridian.Target{Name: "edge-1", Provider: meridian.ProviderEdge, Pricing: meridian.Pricing{VCPUHour: 0.05, GiBHour: 0.006}},
			want:   want{rates: meridian.Rates{VCPUHour: 0.05, GiBHour: 0.006, Source: "target"}},
		},
		"unknown region": {
			reason: "A region without a sourced price is an error, never a guess.",
			target: meridian.Target{Name: "aws-usw2", Provider: meridian.ProviderAWS, Region: "us-west-2", Pricing: meridian.Pricing{Catalog: true}},
			want: want{code: meridian.EINVALID, msg: `target aws-usw2: region: the price catalog has no aws region "us-west-2" ` +
				`(it has: eu-central-1, us-east-1); give explicit pricing instead of catalog: true`},
		},
		"onprem catalog": {
			reason: "The catalog has no on-prem prices.",
			target: meridian.Target{Name: "dc-fra", Provider: meridian.ProviderOnPrem, Region: "fra-1", Pricing: meridian.Pricing{Catalog: true}},
			want: want{code: meridian.EINVALID, msg: "target dc-fra: pricing.catalog: the price catalog covers only aws, azure and gcp; " +
				"onprem targets need explicit pricing (vcpu_hour, gib_hour, egress_gb, storage_gb_month)"},
		},
		"onprem missing": {
			reason: "On-prem pricing is required, and the error points at the file.",
			target: meridian.Target{Name: "dc-fra", Provider: meridian.ProviderOnPrem, Region: "fra-1", Origin: fromFile},
			want: want{code: meridian.EINVALID, msg: "targets/dc.yaml:9: target dc-fra: pricing: no prices: " +
				"onprem targets need explicit vcpu_hour, gib_hour, egress_gb and storage_gb_month"},
		},
		"cloud missing": {
			reason: "A cloud target with neither catalog nor prices would be free.",
			target: meridian.Target{Name: "gcp-euw1", Provider: meridian.ProviderGCP, Region: "europe-west1"},
			want: want{code: meridian.EINVALID, msg: "target gcp-euw1: pricing: no prices: " +
				"set pricing.catalog: true or give explicit vcpu_hour, gib_hour, egress_gb and storage_gb_month"},
		},
		"negative": {
			reason: "A negative rate would reward placing more load.",
			target: meridian.Target{Name: "dc-fra", Provider: meridian.ProviderOnPrem,
				Pricing: meridian.Pricing{VCPUHour: 0.02, GiBHour: 0.002, StorageGBMonth: -0.01}},
			want: want{code: meridian.EINVALID, msg: "target dc-fra: pricing.storage_gb_month: must be a non-negative number, got -0.01"},
		},
		"infinite": {
			reason: "An infinite rate breaks every sum.",
			target: meridian.Target{Name: "dc-fra", Provider: meridian.ProviderOnPrem, Pricing: meridian.Pricing{VCPUHour: math.Inf(1)}},
			want:   want{code: meridian.EINVALID, msg: "target dc-fra: pricing.vcpu_hour: must be a non-negative number, got +Inf"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rates, err := providers.Resolve(c, &tc.target)
			got := want{rates: rates, code: meridian.ErrorCode(err)}
			if err != nil {
				got.msg = err.Error()
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{}), cmpopts.EquateApprox(0, 1e-15)); diff != "" {
				t.Errorf("%s\nResolve mismatch (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestResolveNilCatalog(t *testing.T) {
	tg := &meridian.Target{Name: "aws-use1", Provider: meridian.ProviderAWS, Region: "us-east-1", Pricing: meridian.Pricing{Catalog: true}}
	if _, err := providers.Resolve(nil, tg); meridian.ErrorCode(err) != meridian.EINTERNAL {
		t.Errorf("Resolve(nil catalog) error = %v, want an internal error", err)
	}
	// Explicit pricing needs no catalog.
	tg.Pricing = meridian.Pricing{VCPUHour: 0.02, GiBHour: 0.002}
	if _, err := providers.Resolve(nil, tg); err != nil {
		t.Errorf("Resolve(nil catalog, explicit) = %v", err)
	}
}
