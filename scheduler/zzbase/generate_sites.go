package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// GenerateSites returns a reproducible random instance of a second shape,
// the one of the end-to-end plan benchmark's config repo: the limited
// targets are sites of a fixed size rather than sized to their demand, so
// they are heavily oversubscribed and both of their rows bind.
//
//   - 20% of the targets are on-prem and edge sites of 64–127 vCPU and
//     256–511 GiB, about 35% cheaper than the clouds, with egress at
//     $0.02/GB and storage at $0.05/GB-month; the rest cycle through seven
//     cloud regions at catalog prices;
//   - workloads run replicas.min (1–4) replicas of 1, 2 or 4 vCPU with 2, 4,
//     8 or 16 GiB each (independently), store 0–499 GB and send 0–299
//     GB/month;
//   - placement policy comes from target attributes as the built-in rules
//     evaluate them: the workload's required encryption level and log
//     retention against each target's, and for 30% of the others a
//     jurisdiction (us or eu);
//   - 10% need spread 2 (by target), 5% are pinned to a cloud target, and
//     nothing runs yet (no migration or hysteresis).
//
// docs/placement.md describes the distributions in full.
func GenerateSites(seed int64, workloads, targets int) *Problem {
	r := rand.New(rand.NewPCG(uint64(seed), 0x2545f4914f6cdd1d))
	p := &Problem{Settings: meridian.DefaultSettings().Placement}
	type region struct {
		provider                   meridian.Provider
		name, juris, kms           string
		vcpu, gib, egress, storage float64
	}
	clouds := []region{
		{meridian.ProviderAWS, "us-east-1", "us", "aws-kms", 0.0312, 0.00419, 0.09, 0.100},
		{meridian.ProviderAWS, "eu-central-1", "eu", "aws-kms", 0.0391, 0.00524, 0.09, 0.119},
		{meridian.ProviderAzure, "northeurope", "eu", "azure-key-vault", 0.0348, 0.00467, 0.0725, 0.148},
		{meridian.ProviderAzure, "eastus", "us", "azure-key-vault", 0.0312, 0.00419, 0.0725, 0.148},
		{meridian.ProviderAzure, "westeurope", "eu", "azure-key-vault", 0.0374, 0.00502, 0.0725, 0.148},
		{meridian.ProviderGCP, "us-central1", "us", "gcp-kms", 0.0316, 0.00424, 0.12, 0.100},
		{meridian.ProviderGCP, "europe-west1", "eu", "gcp-kms", 0.0348, 0.00466, 0.12, 0.100},
	}
	jurs := []string{"us", "eu", "sg"}
	sites := targets / 5
	for i := range targets {
		tg := meridian.Target{Name: fmt.Sprintf("t%03d", i)}
		var rt meridian.Rates
		if i < sites {
			tg.Provider, tg.Region, tg.Jurisdiction = meridian.ProviderOnPrem, fmt.Sprintf("site%d", i), jurs[i%len(jurs)]
			if i%2 == 1 {
				tg.Provider = meridian.ProviderEdge
			}
			tg.Encryption = meridian.TargetEncryption{KMS: "vault", CustomerManagedKeys: true, HSM: i%3 == 0}
			tg.LogRetentionMaxDays = []int{365, 2555, 30}[i%3]
			tg.Capacity = meridian.Capacity{VCPU: float64(64 + r.IntN(64)), MemoryGiB: float64(256 + r.IntN(256))}
			tg.Engine = meridian.EngineCrossplane
			rt = meridian.Rates{VCPUHour: round4(0.02 + 0.004*r.Float64()), GiBHour: round5(0.0028 + 0.0005*r.Float64()), EgressGB: 0.02, StorageGBMonth: 0.05, Source: "target"}
			tg.Pricing = meridian.Pricing{VCPUHour: rt.VCPUHour, GiBHour: rt.GiBHour, EgressGB: rt.EgressGB, StorageGBMonth: rt.StorageGBMonth}
		} else {
			c := clouds[i%len(clouds)]
			tg.Provider, tg.Region, tg.Jurisdiction = c.provider, c.name, c.juris
			tg.Encryption = meridian.TargetEncryption{KMS: c.kms, CustomerManagedKeys: i%2 == 0, HSM: i%3 == 0}
			tg.LogRetentionMaxDays = []int{3653, 730, 3650}[i%3]
			tg.Pricing = meridian.Pricing{Catalog: true}
			tg.Engine = meridian.EngineTerraform
			rt = meridian.Rates{VCPUHour: c.vcpu, GiBHour: c.gib, EgressGB: c.egress, StorageGBMonth: c.storage, Source: fmt.Sprintf("catalog:%s/%s", c.provider, c.name)}
		}
		p.Targets = append(p.Targets, tg)
		p.Rates = append(p.Rates, rt)
	}
	encs := []meridian.EncryptionLevel{meridian.EncryptionNone, meridian.EncryptionProviderManaged, meridian.EncryptionProviderManaged,
		meridian.EncryptionCustomerManaged, meridian.EncryptionCustomerManaged, meridian.EncryptionHSM}
	rets := []int{7, 30, 90, 365, 400, 1095}
	p.Violations = make([][][]meridian.Violation, workloads)
	p.Replicas = make([]int, workloads)
	for i := range workloads {
		lo := 1 + r.IntN(4)
		w := meridian.Workload{
			Name:          fmt.Sprintf("w%04d", i),
			Tags:          map[string]string{"owner": fmt.Sprintf("team-%d", i%40), "cost-center": fmt.Sprintf("CC-%04d", 1000+i%97), "env": "prod"},
			Replicas:      meridian.ReplicaRange{Min: lo, Max: lo + 4},
			PerReplica:    meridian.PerReplica{VCPU: float64(int(1) << r.IntN(3)), MemoryGiB: float64(int(2) << r.IntN(4)), Capacity: 100},
			StorageGB:     float64(r.IntN(500)),
			EgressGBMonth: float64(r.IntN(300)),
		}
		switch {
		case i%20 == 0 && targets > sites:
			w.Pin = p.Targets[sites+r.IntN(targets-sites)].Name
		case i%10 == 1:
			w.Requires.Spread, w.Requires.Encryption = 2, meridian.EncryptionProviderManaged
		default:
			w.Requires.Encryption, w.Requires.LogRetentionDays = encs[r.IntN(len(encs))], rets[r.IntN(len(rets))]
			if r.IntN(10) < 3 {
				w.Requires.Jurisdictions = []string{jurs[r.IntN(2)]}
			}
		}
		p.Workloads = append(p.Workloads, w)
		p.Replicas[i] = lo
		p.Violations[i] = attributeViolations(&w, p.Targets)
	}
	return p
}

func round5(v float64) float64 { return round4(v*10) / 10 }

// attributeViolations evaluates the built-in encryption, log-retention and
// jurisdiction placement rules of workload w on every target.
func attributeViolations(w *meridian.Workload, targets []meridian.Target) [][]meridian.Violation {
	out := make([][]meridian.Violation, len(targets))
	for t := range targets {
		tg := &targets[t]
		var vs []meridian.Violation
		if lvl := tg.Encryption.Level(); lvl < w.Requires.Encryption {
			vs = append(vs, meridian.Violation{Rule: "MER-ENC-001", Severity: meridian.SeverityDeny, Field: "requires.encryption",
				Message: fmt.Sprintf("requires %s encryption; target offers %s", w.Requires.Encryption, lvl)})
		}
		if w.Requires.LogRetentionDays > tg.LogRetentionMaxDays {
			vs = append(vs, meridian.Violation{Rule: "MER-RET-001", Severity: meridian.SeverityDeny, Field: "requires.log_retention_days",
				Message: fmt.Sprintf("requires %d days of log retention; target keeps logs at most %d days", w.Requires.LogRetentionDays, tg.LogRetentionMaxDays)})
		}
		if js := w.Requires.Jurisdictions; len(js) > 0 && !slices.Contains(js, tg.Jurisdiction) {
			vs = append(vs, meridian.Violation{Rule: "MER-JUR-001", Severity: meridian.SeverityDeny, Field: "requires.jurisdictions",
				Message: fmt.Sprintf("target jurisdiction %q is not one of the allowed %s", tg.Jurisdiction, strings.Join(js, ", "))})
		}
		out[t] = vs
	}
	return out
}
