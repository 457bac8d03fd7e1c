package scheduler

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/meridianhq/meridian"
)

// Generate returns a reproducible random placement instance shaped like a
// real estate of the given size, for benchmarks:
//
//   - 20% of the targets are capacity-limited on-prem clusters and edge
//     sites whose compute is about 30% cheaper than the clouds'; each gets
//     capacity for the workloads it hosts by pin plus about 60% of the
//     demand of the workloads for which it is the cheapest compliant target;
//   - 30% of the workloads are restricted by a data-residency rule to one to
//     three targets, always including enough cloud targets to stay
//     placeable; the rest fail an encryption or log-retention rule on about
//     8% of the targets;
//   - 10% of the workloads need spread 2 (40% of those by provider, 30% by
//     region), 5% are pinned (mostly to limited targets, some to targets
//     their policy rejects);
//   - 50% have a current placement (migration and hysteresis apply): 70% of
//     those on their cheapest compliant targets, the rest anywhere
//     compliant, 5% on a target that is no longer compliant; limited targets
//     never host more current workloads than fit.
//
// docs/placement.md describes the distributions in full.
func Generate(seed int64, workloads, targets int) *Problem {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	p := &Problem{
		Settings: meridian.DefaultSettings().Placement,
		Current:  map[string][]string{},
	}
	nCap := int(math.Round(0.2 * float64(targets)))
	if targets < 2 {
		nCap = 0
	}
	genTargets(r, p, targets-nCap, nCap)
	capIdx := make([]int, 0, nCap)
	var clouds []int
	for t := range p.Targets {
		if p.Targets[t].Provider.Cloud() {
			clouds = append(clouds, t)
		} else {
			capIdx = append(capIdx, t)
		}
	}
	T := len(p.Targets)
	p.Violations = make([][][]meridian.Violation, workloads)
	p.Replicas = make([]int, workloads)
	for i := 0; i < workloads; i++ {
		w := genWorkload(r, i)
		p.Replicas[i] = w.Replicas.Min + r.IntN(w.Replicas.Max-w.Replicas.Min+3)
		kind := r.Float64()
		switch {
		case kind < 0.10:
			w.Requires.Spread = 2
			switch x := r.Float64(); {
			case x < 0.4:
				w.Requires.SpreadBy = meridian.SpreadByProvider
			case x < 0.7:
				w.Requires.SpreadBy = meridian.SpreadByRegion
			}
		case kind < 0.15:
			w.Pin = "?" // chosen once the policy is known
		}
		p.Workloads = append(p.Workloads, w)
		p.Violations[i] = genPolicy(r, p, i, clouds)
		if w.Pin != "" {
			p.Workloads[i].Pin = p.Targets[genPin(r, p, i, capIdx, clouds)].Name
		}
	}
	genCapacity(r, p, capIdx)
	genCurrent(r, p, T)
	return p
}

// genTargets appends nCloud cloud targets and nCap limited ones with
// explicit prices; limited capacity is set later, from the demand.
func genTargets(r *rand.Rand, p *Problem, nCloud, nCap int) {
	type region struct {
		name, juris string
		factor      float64
	}
	regions := map[meridian.Provider][]region{
		meridian.ProviderAWS: {{"us-east-1", "us", 1.00}, {"us-west-2", "us", 1.00}, {"eu-west-1", "eu", 1.08}, {"eu-central-1", "eu", 1.12},
			{"ap-southeast-1", "sg", 1.15}, {"ap-northeast-1", "jp", 1.20}, {"sa-east-1", "br", 1.35}},
		meridian.ProviderAzure: {{"eastus", "us", 1.00}, {"westeurope", "eu", 1.10}, {"northeurope", "eu", 1.05},
			{"southeastasia", "sg", 1.15}, {"japaneast", "jp", 1.20}},
		meridian.ProviderGCP: {{"us-central1", "us", 0.97}, {"europe-west1", "eu", 1.06}, {"europe-west3", "eu", 1.12},
			{"asia-southeast1", "sg", 1.13}, {"asia-northeast1", "jp", 1.18}},
	}
	provs := []meridian.Provider{meridian.ProviderAWS, meridian.ProviderAzure, meridian.ProviderGCP}
	provFactor := map[meridian.Provider]float64{meridian.ProviderAWS: 1.0, meridian.ProviderAzure: 0.98, meridian.ProviderGCP: 0.95}
	var sumCPU, sumMem float64
	for j := 0; j < nCloud; j++ {
		pv := provs[j%3]
		rs := regions[pv]
		rg := rs[(j/3)%len(rs)]
		name := fmt.Sprintf("%s-%s", pv, rg.name)
		if rep := j / 3 / len(rs); rep > 0 {
			name = fmt.Sprintf("%s-%d", name, rep+1)
		}
		f := rg.factor * provFactor[pv] * (0.95 + 0.13*r.Float64())
		rates := meridian.Rates{
			VCPUHour:       round4(0.0400 * f),
			GiBHour:        round4(0.0050 * f),
			EgressGB:       round4(0.08 + 0.04*r.Float64()),
			StorageGBMonth: round4(0.08 + 0.045*r.Float64()),
			Source:         fmt.Sprintf("catalog:%s/%s", pv, rg.name),
		}
		sumCPU += rates.VCPUHour
		sumMem += rates.GiBHour
		p.Targets = append(p.Targets, meridian.Target{
			Name: name, Provider: pv, Region: rg.name, Jurisdiction: rg.juris,
			Encryption:          meridian.TargetEncryption{CustomerManagedKeys: true, KMS: string(pv) + "-kms"},
			LogRetentionMaxDays: 365 * (1 + r.IntN(3)),
			Pricing:             meridian.Pricing{Catalog: true},
			Engine:              meridian.EngineTerraform,
		})
		p.Rates = append(p.Rates, rates)
	}
	avgCPU, avgMem := 0.04, 0.005
	if nCloud > 0 {
		avgCPU, avgMem = sumCPU/float64(nCloud), sumMem/float64(nCloud)
	}
	juris := []string{"us", "eu", "eu", "us", "sg", "jp"}
	for j := 0; j < nCap; j++ {
		pv, name, egress := meridian.ProviderOnPrem, fmt.Sprintf("onprem-dc%d", j/2+1), 0.02
		if j%2 == 1 {
			pv, name, egress = meridian.ProviderEdge, fmt.Sprintf("edge-site%d", j/2+1), 0.03
		}
		f := 0.70 * (0.95 + 0.10*r.Float64())
		pr := meridian.Pricing{
			VCPUHour:       round4(avgCPU * f),
			GiBHour:        round4(avgMem * f),
			EgressGB:       egress,
			StorageGBMonth: round4(0.04 + 0.02*r.Float64()),
		}
		p.Targets = append(p.Targets, meridian.Target{
			Name: name, Provider: pv, Region: name, Jurisdiction: juris[j%len(juris)],
			Encryption:          meridian.TargetEncryption{CustomerManagedKeys: true, HSM: r.IntN(2) == 0},
			LogRetentionMaxDays: 3650,
			Pricing:             pr,
			Engine:              meridian.EngineCrossplane,
		})
		p.Rates = append(p.Rates, meridian.Rates{VCPUHour: pr.VCPUHour, GiBHour: pr.GiBHour, EgressGB: pr.EgressGB, StorageGBMonth: pr.StorageGBMonth, Source: "target"})
	}
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// pickWeighted returns vals[i] with probability weights[i]/sum.
func pickWeighted[T any](r *rand.Rand, vals []T, weights []int) T {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	x := r.IntN(sum)
	for i, w := range weights {
		if x < w {
			return vals[i]
		}
		x -= w
	}
	return vals[len(vals)-1]
}

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Round(math.Exp(math.Log(lo)+r.Float64()*(math.Log(hi)-math.Log(lo)))*10) / 10
}

func genWorkload(r *rand.Rand, i int) meridian.Workload {
	cpu := pickWeighted(r, []float64{0.25, 0.5, 1, 2, 4}, []int{15, 30, 30, 18, 7})
	mem := cpu * pickWeighted(r, []float64{2, 4, 8}, []int{25, 50, 25})
	lo := 1 + r.IntN(3)
	w := meridian.Workload{
		Name: fmt.Sprintf("svc-%05d", i),
		Tags: map[string]string{
			"owner":       fmt.Sprintf("team-%02d", r.IntN(40)),
			"cost-center": fmt.Sprintf("cc-%03d", r.IntN(100)),
			"env":         pickWeighted(r, []string{"prod", "staging", "dev"}, []int{6, 2, 2}),
		},
		Replicas:      meridian.ReplicaRange{Min: lo, Max: lo + r.IntN(9)},
		PerReplica:    meridian.PerReplica{VCPU: cpu, MemoryGiB: mem, Capacity: 100},
		Requires:      meridian.Requirements{Encryption: meridian.EncryptionProviderManaged, LogRetentionDays: 30, Spread: 1},
		EgressGBMonth: logUniform(r, 1, 5000),
	}
	if r.IntN(2) == 0 {
		w.StorageGB = logUniform(r, 5, 2000)
	}
	return w
}

// genPolicy returns workload i's violations: a data-residency restriction
// to at most three targets for 30% of the workloads, a scatter of
// encryption and log-retention failures for the rest. Enough cloud targets
// in distinct spread groups always stay compliant.
func genPolicy(r *rand.Rand, p *Problem, i int, clouds []int) [][]meridian.Violation {
	w := &p.Workloads[i]
	T := len(p.Targets)
	n := w.SpreadCount()
	allowed := make([]bool, T)
	restricted := r.Float64() < 0.30
	if restricted {
		for _, t := range spreadClouds(r, p, w, clouds, n) {
			allowed[t] = true
		}
		for size := n + r.IntN(4-n); countTrue(allowed) < min(size, T); {
			allowed[r.IntN(T)] = true
		}
	} else {
		for t := range allowed {
			allowed[t] = r.Float64() >= 0.08
		}
		for _, t := range spreadClouds(r, p, w, clouds, n) {
			allowed[t] = true
		}
	}
	out := make([][]meridian.Violation, T)
	for t := range out {
		if allowed[t] {
			continue
		}
		tg := &p.Targets[t]
		switch {
		case restricted:
			out[t] = []meridian.Violation{{Rule: "data-residency", Severity: meridian.SeverityDeny, Field: "requires.jurisdictions",
				Message: fmt.Sprintf("jurisdiction %s is not allowed for %s", tg.Jurisdiction, w.Name)}}
		case t%2 == 0:
			out[t] = []meridian.Violation{{Rule: "encryption-level", Severity: meridian.SeverityDeny, Field: "requires.encryption",
				Message: fmt.Sprintf("%s cannot provide the required key management", tg.Name)}}
		default:
			out[t] = []meridian.Violation{{Rule: "log-retention", Severity: meridian.SeverityDeny, Field: "requires.log_retention_days",
				Message: fmt.Sprintf("%s keeps logs for at most %d days", tg.Name, tg.LogRetentionMaxDays)}}
		}
	}
	return out
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// spreadClouds picks n random cloud targets in distinct spread groups of
// w (fewer if the clouds do not have that many).
func spreadClouds(r *rand.Rand, p *Problem, w *meridian.Workload, clouds []int, n int) []int {
	key := func(t int) string {
		switch w.Requires.SpreadBy {
		case meridian.SpreadByProvider:
			return string(p.Targets[t].Provider)
		case meridian.SpreadByRegion:
			return p.Targets[t].Region
		}
		return p.Targets[t].Name
	}
	perm := r.Perm(len(clouds))
	var out []int
	var keys []string
	for _, q := range perm {
		t := clouds[q]
		if k := key(t); !slices.Contains(keys, k) {
			out, keys = append(out, t), append(keys, k)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// genPin picks the pin target of workload i: 70% a limited target, and 90%
// of the time one its policy allows.
func genPin(r *rand.Rand, p *Problem, i int, caps, clouds []int) int {
	pool := clouds
	if len(caps) > 0 && (r.Float64() < 0.7 || len(clouds) == 0) {
		pool = caps
	}
	if r.Float64() < 0.9 {
		var ok []int
		for _, t := range pool {
			if len(p.Violations[i][t]) == 0 {
				ok = append(ok, t)
			}
		}
		if len(ok) > 0 {
			pool = ok
		}
	}
	return pool[r.IntN(len(pool))]
}

// cheapest returns workload i's n cheapest compliant targets in distinct
// groups, ignoring capacity and migration.
func cheapest(p *Problem, i int) []int {
	w := &p.Workloads[i]
	_, per := w.SplitReplicas(p.Replicas[i])
	order := make([]int, 0, len(p.Targets))
	for t := range p.Targets {
		if len(p.Violations[i][t]) == 0 {
			order = append(order, t)
		}
	}
	cost := func(t int) float64 { return float64(meridian.MonthlyCost(w, per, p.Rates[t]).Total()) }
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := cost(a), cost(b)
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0
	})
	var out []int
	var keys []string
	for _, t := range order {
		k := p.Targets[t].Name
		switch w.Requires.SpreadBy {
		case meridian.SpreadByProvider:
			k = string(p.Targets[t].Provider)
		case meridian.SpreadByRegion:
			k = p.Targets[t].Region
		}
		if !slices.Contains(keys, k) {
			out, keys = append(out, t), append(keys, k)
			if len(out) == w.SpreadCount() {
				break
			}
		}
	}
	return out
}

// shareOf is workload i's vCPU and memory per target.
func shareOf(p *Problem, i int) (float64, float64) {
	w := &p.Workloads[i]
	_, per := w.SplitReplicas(p.Replicas[i])
	return float64(per) * w.PerReplica.VCPU, float64(per) * w.PerReplica.MemoryGiB
}

// genCapacity sizes every limited target to what is pinned to it plus
// about 60% of the demand that would rather run there.
func genCapacity(r *rand.Rand, p *Problem, caps []int) {
	pinV, pinM := map[int]float64{}, map[int]float64{}
	prefV, prefM := map[int]float64{}, map[int]float64{}
	for i := range p.Workloads {
		dv, dm := shareOf(p, i)
		if pin := p.Workloads[i].Pin; pin != "" {
			for t := range p.Targets {
				if p.Targets[t].Name == pin {
					pinV[t] += dv
					pinM[t] += dm
				}
			}
			continue
		}
		for _, t := range cheapest(p, i) {
			prefV[t] += dv
			prefM[t] += dm
		}
	}
	for _, t := range caps {
		v := pinV[t] + 0.6*prefV[t]*(0.9+0.2*r.Float64())
		m := pinM[t] + 0.6*prefM[t]*(1.0+0.2*r.Float64())
		p.Targets[t].Capacity = meridian.Capacity{VCPU: math.Max(8, math.Ceil(v)), MemoryGiB: math.Max(32, math.Ceil(m))}
	}
}

// genCurrent gives half of the workloads a current placement, keeping the
// limited targets within capacity.
func genCurrent(r *rand.Rand, p *Problem, T int) {
	usedV, usedM := make([]float64, T), make([]float64, T)
	for i := range p.Workloads {
		if pin := p.Workloads[i].Pin; pin != "" {
			for t := range p.Targets {
				if p.Targets[t].Name == pin {
					dv, dm := shareOf(p, i)
					usedV[t] += dv
					usedM[t] += dm
				}
			}
		}
	}
	fits := func(t int, dv, dm float64) bool {
		c := p.Targets[t].Capacity
		return !c.Limited() || usedV[t]+dv <= 0.95*c.VCPU && usedM[t]+dm <= 0.95*c.MemoryGiB
	}
	for i := range p.Workloads {
		if r.Float64() >= 0.5 {
			continue
		}
		w := &p.Workloads[i]
		dv, dm := shareOf(p, i)
		var set []int
		switch x := r.Float64(); {
		case x < 0.05:
			var bad []int
			for t := range p.Targets {
				if len(p.Violations[i][t]) > 0 {
					bad = append(bad, t)
				}
			}
			if len(bad) > 0 {
				set = []int{bad[r.IntN(len(bad))]}
			}
		case x < 0.70 || w.Pin != "":
			set = cheapest(p, i)
		default:
			var ok []int
			for t := range p.Targets {
				if len(p.Violations[i][t]) == 0 {
					ok = append(ok, t)
				}
			}
			r.Shuffle(len(ok), func(a, b int) { ok[a], ok[b] = ok[b], ok[a] })
			set = ok[:min(len(ok), w.SpreadCount())]
		}
		var names []string
		for _, t := range set {
			if !fits(t, dv, dm) {
				continue
			}
			usedV[t] += dv
			usedM[t] += dm
			names = append(names, p.Targets[t].Name)
		}
		if len(names) > 0 {
			slices.Sort(names)
			p.Current[w.Name] = names
		}
	}
}
