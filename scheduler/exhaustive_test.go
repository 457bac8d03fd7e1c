package scheduler

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// randomSmall returns a small instance that exercises every constraint:
// limited targets with tight capacity, spread with and without spread_by,
// pins (some unknown, some to non-compliant targets), violations, current
// placements (some gone or non-compliant) and hysteresis settings.
func randomSmall(r *rand.Rand) *Problem {
	provs := []meridian.Provider{meridian.ProviderAWS, meridian.ProviderGCP, meridian.ProviderOnPrem, meridian.ProviderEdge}
	regions := []string{"r1", "r2", "r3"}
	T := 2 + r.IntN(3)
	W := 3 + r.IntN(4)
	p := &Problem{
		Settings: meridian.PlacementSettings{
			MigrationAmortizeMonths: float64(r.IntN(13)),
			MinSavingPercent:        float64(r.IntN(3) * 5),
			MinSavingUSD:            float64(r.IntN(3) * 10),
			TimeLimit:               10 * time.Second,
		},
	}
	for t := 0; t < T; t++ {
		tg := meridian.Target{Name: fmt.Sprintf("t%d", t), Provider: provs[r.IntN(len(provs))], Region: regions[r.IntN(len(regions))]}
		if r.IntN(5) < 3 {
			tg.Capacity = meridian.Capacity{VCPU: float64(1 + r.IntN(6))}
			if r.IntN(3) > 0 {
				tg.Capacity.MemoryGiB = float64(4 + r.IntN(20))
			}
		}
		p.Targets = append(p.Targets, tg)
		p.Rates = append(p.Rates, meridian.Rates{
			VCPUHour:       0.02 + 0.04*r.Float64(),
			GiBHour:        0.002 + 0.006*r.Float64(),
			EgressGB:       0.01 + 0.1*r.Float64(),
			StorageGBMonth: 0.03 + 0.1*r.Float64(),
		})
	}
	p.Current = map[string][]string{}
	for i := 0; i < W; i++ {
		lo := 1 + r.IntN(2)
		w := meridian.Workload{
			Name:          fmt.Sprintf("w%d", i),
			Replicas:      meridian.ReplicaRange{Min: lo, Max: lo + r.IntN(3)},
			PerReplica:    meridian.PerReplica{VCPU: []float64{0.5, 1, 2}[r.IntN(3)], MemoryGiB: []float64{1, 2, 4, 8}[r.IntN(4)]},
			StorageGB:     float64(r.IntN(300)),
			EgressGBMonth: float64(r.IntN(800)),
		}
		if r.IntN(10) < 3 {
			w.Requires.Spread = 2
			w.Requires.SpreadBy = []string{"", meridian.SpreadByProvider, meridian.SpreadByRegion}[r.IntN(3)]
		}
		switch x := r.IntN(20); {
		case x == 0:
			w.Pin = "nowhere"
		case x < 3:
			w.Pin = p.Targets[r.IntN(T)].Name
		}
		p.Workloads = append(p.Workloads, w)
		p.Replicas = append(p.Replicas, r.IntN(6))
		row := make([][]meridian.Violation, T)
		for t := range row {
			if r.IntN(5) == 0 {
				row[t] = []meridian.Violation{{Rule: fmt.Sprintf("rule-%d", r.IntN(3)), Severity: meridian.SeverityDeny, Message: "no"}}
			}
		}
		p.Violations = append(p.Violations, row)
		if r.IntN(2) == 0 {
			var cur []string
			for t := 0; t < T; t++ {
				if r.IntN(3) == 0 {
					cur = append(cur, p.Targets[t].Name)
				}
			}
			if r.IntN(20) == 0 {
				cur = append(cur, "decommissioned")
			}
			if len(cur) > 0 {
				p.Current[w.Name] = cur
			}
		}
	}
	return p
}

// oracle solves p by enumerating every combination of option sets,
// written independently of the solver from the semantics in
// docs/placement.md. It returns the fewest workloads left out and the
// least cost of the rest.
func oracle(p *Problem) (dropped int, cost float64) {
	T := len(p.Targets)
	idx := map[string]int{}
	for t, tg := range p.Targets {
		idx[tg.Name] = t
	}
	capOf := func(t int) (float64, float64, bool) {
		c := p.Targets[t].Capacity
		if !c.Limited() {
			return 0, 0, false
		}
		v, m := c.VCPU, c.MemoryGiB
		if v <= 0 {
			v = math.Inf(1)
		}
		if m <= 0 {
			m = math.Inf(1)
		}
		return v, m, true
	}
	type wl struct {
		dv, dm float64
		sets   [][]int
		cost   []float64
	}
	ws := make([]wl, len(p.Workloads))
	group := func(i, t int) string {
		switch p.Workloads[i].Requires.SpreadBy {
		case meridian.SpreadByProvider:
			return string(p.Targets[t].Provider)
		case meridian.SpreadByRegion:
			return p.Targets[t].Region
		}
		return p.Targets[t].Name
	}
	fits := func(i, t int) bool {
		v, m, ok := capOf(t)
		return !ok || ws[i].dv <= v && ws[i].dm <= m
	}
	compliant := func(i, t int) bool { return len(p.Violations[i][t]) == 0 }
	// Costs and migration.
	costs := make([][]float64, len(p.Workloads))
	for i := range p.Workloads {
		w := &p.Workloads[i]
		_, per := w.SplitReplicas(p.Replicas[i])
		ws[i].dv, ws[i].dm = float64(per)*w.PerReplica.VCPU, float64(per)*w.PerReplica.MemoryGiB
		cur := p.Current[w.Name]
		mig := math.Inf(1)
		for _, c := range cur {
			if t, ok := idx[c]; ok {
				mig = min(mig, float64(meridian.MigrationCost(w, p.Rates[t], p.Settings.MigrationAmortizeMonths)))
			}
		}
		if math.IsInf(mig, 1) {
			mig = 0
		}
		costs[i] = make([]float64, T)
		for t := 0; t < T; t++ {
			costs[i][t] = float64(meridian.MonthlyCost(w, per, p.Rates[t]).Total())
			if len(cur) > 0 && !slices.Contains(cur, p.Targets[t].Name) {
				costs[i][t] += mig
			}
		}
	}
	// Capacity held on each limited target by pins and stayable residents.
	heldV, heldM := make([]float64, T), make([]float64, T)
	for i := range p.Workloads {
		w := &p.Workloads[i]
		var hosts []int
		if t, ok := idx[w.Pin]; ok && w.SpreadCount() == 1 {
			hosts = []int{t}
		} else if w.Pin == "" {
			for _, c := range p.Current[w.Name] {
				if t, ok := idx[c]; ok && !slices.Contains(hosts, t) && compliant(i, t) {
					hosts = append(hosts, t)
				}
			}
		}
		for _, t := range hosts {
			if fits(i, t) {
				heldV[t] += ws[i].dv
				heldM[t] += ws[i].dm
			}
		}
	}
	for i := range p.Workloads {
		w := &p.Workloads[i]
		n := w.SpreadCount()
		allowed := make([]bool, T)
		pin, pinned := idx[w.Pin]
		for t := 0; t < T; t++ {
			switch {
			case w.Pin != "":
				allowed[t] = pinned && t == pin && n == 1
			default:
				allowed[t] = compliant(i, t)
			}
			allowed[t] = allowed[t] && fits(i, t)
		}
		// Hysteresis.
		cur := p.Current[w.Name]
		if w.Pin == "" && len(cur) > 0 {
			stay := true
			var groups []string
			for _, c := range cur {
				t, ok := idx[c]
				if !ok || !allowed[t] {
					stay = false
					break
				}
				if v, m, lim := capOf(t); lim && (heldV[t] > v*(1+1e-9) || heldM[t] > m*(1+1e-9)) {
					stay = false
				}
				if !slices.Contains(groups, group(i, t)) {
					groups = append(groups, group(i, t))
				}
			}
			if stay && len(groups) >= n {
				for t := 0; t < T; t++ {
					if !allowed[t] || slices.Contains(cur, p.Targets[t].Name) {
						continue
					}
					ok := false
					for _, c := range cur {
						cc := costs[i][idx[c]]
						if costs[i][t] < cc-max(p.Settings.MinSavingPercent/100*cc, p.Settings.MinSavingUSD) {
							ok = true
						}
					}
					allowed[t] = ok
				}
			}
		}
		// Every set of n allowed targets in distinct groups.
		var rec func(from int, set []int)
		rec = func(from int, set []int) {
			if len(set) == n {
				c := 0.0
				for _, t := range set {
					c += costs[i][t]
				}
				ws[i].sets = append(ws[i].sets, slices.Clone(set))
				ws[i].cost = append(ws[i].cost, c)
				return
			}
			for t := from; t < T; t++ {
				if !allowed[t] {
					continue
				}
				dup := false
				for _, u := range set {
					dup = dup || group(i, u) == group(i, t)
				}
				if !dup {
					rec(t+1, append(set, t))
				}
			}
		}
		rec(0, nil)
	}
	usedV, usedM := make([]float64, T), make([]float64, T)
	bestDrop, bestCost := math.MaxInt, math.Inf(1)
	var search func(i, drop int, c float64)
	search = func(i, drop int, c float64) {
		if i == len(ws) {
			if drop < bestDrop || drop == bestDrop && c < bestCost {
				bestDrop, bestCost = drop, c
			}
			return
		}
		for q, set := range ws[i].sets {
			ok := true
			for _, t := range set {
				v, m, lim := capOf(t)
				if lim && (usedV[t]+ws[i].dv > v*(1+1e-9) || usedM[t]+ws[i].dm > m*(1+1e-9)) {
					ok = false
				}
			}
			if !ok {
				continue
			}
			for _, t := range set {
				usedV[t] += ws[i].dv
				usedM[t] += ws[i].dm
			}
			search(i+1, drop, c+ws[i].cost[q])
			for _, t := range set {
				usedV[t] -= ws[i].dv
				usedM[t] -= ws[i].dm
			}
		}
		search(i+1, drop+1, c)
	}
	search(0, 0, 0)
	return bestDrop, bestCost
}

func TestSolveMatchesExhaustiveSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for n := 0; n < 600; n++ {
		p := randomSmall(r)
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			res, err := Solve(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			wantDrop, wantCost := oracle(p)
			got := 0.0
			for _, pl := range res.Placements {
				got += float64(pl.MonthlyCost)
			}
			if len(res.Unplaceable) != wantDrop || math.Abs(got-wantCost) > 1e-6*(1+wantCost) {
				t.Fatalf("Solve: %d unplaceable, cost %.6f; exhaustive search: %d unplaceable, cost %.6f\nplacements: %+v\nunplaceable: %+v",
					len(res.Unplaceable), got, wantDrop, wantCost, res.Placements, res.Unplaceable)
			}
			if !res.Stats.Optimal {
				t.Errorf("Stats.Optimal = false on a %d-workload instance, want proven optimal (stats %+v)", len(p.Workloads), res.Stats)
			}
			checkProperties(t, p, res)
		})
	}
}

// TestBranchAndBoundAlone runs the exact search from the worst incumbent
// (everything left out), so that it alone must find the optimum the
// heuristics usually hand it.
func TestBranchAndBoundAlone(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for n := 0; n < 400; n++ {
		p := randomSmall(r)
		m, err := build(p)
		if err != nil {
			t.Fatal(err)
		}
		s := newSolver(context.Background(), m, time.Now().Add(time.Minute), 0)
		if len(s.active) == 0 {
			continue
		}
		lam := make([]float64, 2*s.K)
		s.seedPrices(lam)
		s.ascend(lam, 10, 0)
		s.incCost = s.total(s.inc) // all left out
		if !s.branchAndBound(lam, math.MaxInt) {
			t.Fatalf("instance %d: search did not complete", n)
		}
		wantDrop, wantCost := oracle(p)
		static := 0
		for i := range m.ws {
			if m.ws[i].static != staticNone {
				static++
			}
		}
		want := wantCost + float64(wantDrop-static)*m.penalty
		if math.Abs(s.incCost-want) > 1e-6*(1+want) {
			t.Errorf("instance %d: branch and bound found %.6f, exhaustive search %.6f", n, s.incCost, want)
		}
	}
}
