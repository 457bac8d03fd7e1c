package scheduler

import (
	"cmp"
	"math"
	"slices"
)

// knapItem is one workload bidding for a capacitated target: its value v
// (what it saves there), its shares a and b of the two rows, the caller's
// id, whether it occupies the target now, and the knapsack's verdict.
type knapItem struct {
	v, a, b float64
	id      int
	on      bool
	take    bool
}

// knapScratch is a two-row 0-1 knapsack solver with reusable buffers.
//
// It bounds by Lagrangian relaxation of both rows at prices (pa, pb): for
// any prices the best packing is worth at most pa·capA + pb·capB plus the
// positive reduced values v - pa·a - pb·b. The prices that minimize this
// bound make it the LP bound; they are found as the best surrogate row
// (a mix mu of the two rows) and its fractional-knapsack price.
type knapScratch struct {
	items      []knapItem
	capA, capB float64
	pa, pb     float64   // row prices
	rho        []float64 // reduced value per item (parallel to items)
	dens       []float64 // density per item under the prices (parallel to items)
	ord        []int32   // items searched, by density
	fixed      []int32   // items every better packing contains
	stack      []int32   // items on the current branch
	best       []int32   // items of the best packing
	bestV      float64
	nodes      int
	limit      int
	bps        []breakpoint
}

// solve finds the most valuable set of items within capacities capA and
// capB. It marks the chosen items' take and reports whether their value
// exceeds floor; if it does not, take is left false everywhere.
//
// The search is a depth-first branch and bound with the Lagrangian bound
// above, after a reduction: an item whose reduced value alone exceeds the
// slack between the bound and the best packing known (greedy by density,
// or floor) is fixed to the side its sign says, as the bound of every
// packing deciding it the other way is too low. What remains is usually a
// small core of items near the prices' margin. After limit nodes the
// search settles for the best packing found, which is deterministic.
func (ks *knapScratch) solve(items []knapItem, capA, capB, floor float64, limit int) bool {
	ks.items, ks.capA, ks.capB, ks.limit = items, capA, capB, limit
	ks.nodes = 0
	ks.ord = ks.ord[:0]
	for q := range items {
		items[q].take = false
		if it := &items[q]; it.v > 0 && it.a <= capA && it.b <= capB {
			ks.ord = append(ks.ord, int32(q))
		}
	}
	if len(ks.ord) == 0 {
		return false
	}
	ks.prices()
	if cap(ks.rho) < len(items) {
		ks.rho = make([]float64, len(items))
	}
	ks.rho = ks.rho[:len(items)]
	U := ks.pa*capA + ks.pb*capB
	for _, q := range ks.ord {
		it := &items[q]
		ks.rho[q] = it.v - ks.pa*it.a - ks.pb*it.b
		U += max(0, ks.rho[q])
	}
	// By density v / (pa·a + pb·b), i.e. by how far the item clears its
	// priced size; weightless items first. The densities are computed once,
	// not per comparison.
	if cap(ks.dens) < len(items) {
		ks.dens = make([]float64, len(items))
	}
	ks.dens = ks.dens[:len(items)]
	for _, q := range ks.ord {
		it := &items[q]
		ks.dens[q] = math.Inf(1)
		if w := ks.pa*it.a + ks.pb*it.b; w > 0 {
			ks.dens[q] = it.v / w
		}
	}
	slices.SortFunc(ks.ord, func(x, y int32) int {
		if dx, dy := ks.dens[x], ks.dens[y]; dx != dy {
			return cmp.Compare(dy, dx)
		}
		return cmp.Compare(items[x].id, items[y].id)
	})

	ks.bestV, ks.best = floor, ks.best[:0]
	gv, ra, rb := 0.0, capA, capB
	ks.stack = ks.stack[:0]
	for _, q := range ks.ord {
		if it := &items[q]; it.a <= ra && it.b <= rb {
			gv, ra, rb = gv+it.v, ra-it.a, rb-it.b
			ks.stack = append(ks.stack, q)
		}
	}
	if gv > ks.bestV+eps(ks.bestV) {
		ks.bestV, ks.best = gv, append(ks.best, ks.stack...)
	}

	low := ks.bestV
	ks.fixed = ks.fixed[:0]
	core := ks.ord[:0]
	val, pos := 0.0, 0.0
	ra, rb = capA, capB
	for _, q := range ks.ord {
		it := &items[q]
		switch r := ks.rho[q]; {
		case r >= 0 && U-r <= low+eps(low):
			ks.fixed = append(ks.fixed, q)
			val, ra, rb = val+it.v, ra-it.a, rb-it.b
		case r < 0 && U+r <= low+eps(low):
		default:
			core = append(core, q)
			pos += max(0, r)
		}
	}
	ks.ord = core
	if ra >= 0 && rb >= 0 {
		ks.stack = append(ks.stack[:0], ks.fixed...)
		ks.search(0, val, ra, rb, pos)
	}
	if ks.bestV <= floor+eps(floor) {
		return false
	}
	for _, q := range ks.best {
		items[q].take = true
	}
	return true
}

// goldenSteps is the number of golden-section steps prices takes, which
// narrow the mix to 0.618^goldenSteps of its range. Any prices give a
// valid bound; better ones only prune more.
const goldenSteps = 14

// prices sets pa and pb to the prices of the best surrogate row: for a mix
// mu the fractional knapsack over the row mu·a/capA + (1-mu)·b/capB has a
// clearing density beta, and prices beta·mu/capA, beta·(1-mu)/capB. The
// bound is quasi-convex in mu (each mu is a ray through the convex bound
// function of the two prices), so a golden-section search finds the best
// mix.
func (ks *knapScratch) prices() {
	lo, hi := 0.0, 1.0
	const phi = 0.6180339887498949
	x1, x2 := hi-phi*(hi-lo), lo+phi*(hi-lo)
	f1, _ := ks.surrogate(x1)
	f2, _ := ks.surrogate(x2)
	for range goldenSteps {
		if f1 <= f2 {
			hi, x2, f2 = x2, x1, f1
			x1 = hi - phi*(hi-lo)
			f1, _ = ks.surrogate(x1)
		} else {
			lo, x1, f1 = x1, x2, f2
			x2 = lo + phi*(hi-lo)
			f2, _ = ks.surrogate(x2)
		}
	}
	mu, best := 0.5*(lo+hi), math.Inf(1)
	for _, m := range [...]float64{0.5 * (lo + hi), 0, 1} {
		if f, _ := ks.surrogate(m); f < best {
			mu, best = m, f
		}
	}
	_, beta := ks.surrogate(mu)
	ks.pa, ks.pb = beta*mu/ks.capA, beta*(1-mu)/ks.capB
}

// surrogate returns the fractional-knapsack value of the usable items
// over the surrogate row of mix mu (capacity 1) and its clearing density.
func (ks *knapScratch) surrogate(mu float64) (U, beta float64) {
	bps := ks.bps[:0]
	total := 0.0
	for _, q := range ks.ord {
		it := &ks.items[q]
		w := mu*it.a/ks.capA + (1-mu)*it.b/ks.capB
		if w <= 0 {
			U += it.v
			continue
		}
		bps = append(bps, breakpoint{it.v / w, w})
		total += w
	}
	ks.bps = bps
	if total > 1 {
		beta = weightedSelect(bps, 1)
	}
	U += beta
	for _, b := range bps {
		U += max(0, (b.beta-beta)*b.a)
	}
	return U, beta
}

// search extends the branch in stack (worth val, leaving ra and rb) with
// items from ord[d:]; pos is the sum of their positive reduced values.
func (ks *knapScratch) search(d int, val, ra, rb, pos float64) {
	ks.nodes++
	if val > ks.bestV+eps(ks.bestV) {
		ks.bestV = val
		ks.best = append(ks.best[:0], ks.stack...)
	}
	if ks.nodes > ks.limit {
		return
	}
	for d < len(ks.ord) {
		if it := &ks.items[ks.ord[d]]; it.a <= ra && it.b <= rb {
			break
		}
		pos -= max(0, ks.rho[ks.ord[d]])
		d++
	}
	if d == len(ks.ord) || val+pos+ks.pa*ra+ks.pb*rb <= ks.bestV+eps(ks.bestV) {
		return
	}
	q := ks.ord[d]
	it := &ks.items[q]
	p := max(0, ks.rho[q])
	ks.stack = append(ks.stack, q)
	ks.search(d+1, val+it.v, ra-it.a, rb-it.b, pos-p)
	ks.stack = ks.stack[:len(ks.stack)-1]
	ks.search(d+1, val, ra, rb, pos-p)
}
