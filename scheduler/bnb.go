package scheduler

import (
	"cmp"
	"slices"
)

// option is one way to place a workload in the exact search.
type option struct {
	r    float64 // Lagrangian reduced cost under the final multipliers
	cost float64
	sel  []int32 // candidate indices, or {-1}: left out
	rows []rowUse
}

// rowUse is the share of one capacity row an option takes.
type rowUse struct {
	row int32
	u   float64
}

// maxOptions and maxTotalOptions cap the options one workload and all
// together may bring into the exact search; past them the search is not
// worth starting (and would not fit in memory).
const (
	maxOptions      = 4096
	maxTotalOptions = 1 << 20
)

// branchAndBound searches every selection whose Lagrangian bound beats the
// incumbent. For any feasible selection x and multipliers lam >= 0,
//
//	cost(x) = L(lam) + sum_i r_i(x_i) + sum_rows lam_r * (1 - use_r(x)),
//
// where r_i >= 0 is the reduced cost of workload i's option, so options
// whose reduced cost alone exceeds the gap are never needed, and a partial
// selection is pruned as soon as its reduced costs plus the slack the
// remaining workloads cannot fill exceed the gap. It reports whether the
// search completed, which proves the incumbent optimal.
func (s *solver) branchAndBound(lam []float64, nodeLimit int) bool {
	sel := s.newSel()
	use := make([]float64, 2*s.K)
	L := s.lagrange(lam, sel, use)
	if s.incCost-L <= eps(s.incCost) {
		return true
	}
	var rows []int32 // rows with a positive price
	for r, l := range lam {
		if l > 0 {
			rows = append(rows, int32(r))
		}
	}
	b := &bnb{s: s, L: L, lam: lam, rows: rows, cur: s.newSel(), use: make([]float64, 2*s.K), limit: nodeLimit}
	tmp := make([]int32, s.maxSpread())
	total := 0
	for _, i := range s.active {
		v := s.lagrangeOne(i, lam, tmp, s.top)
		opts, ok := b.options(i, v)
		if total += len(opts); !ok || total > maxTotalOptions {
			return false
		}
		switch len(opts) {
		case 0:
			// No option fits the gap: nothing beats the incumbent.
			return true
		case 1:
			o := opts[0]
			copy(s.selOf(b.cur, i), o.sel)
			b.fixed += o.cost
			b.R += o.r
			for _, ru := range o.rows {
				b.use[ru.row] += ru.u
			}
		default:
			b.free = append(b.free, i)
			b.opts = append(b.opts, opts)
		}
	}
	if !s.feasible(b.use) {
		return true
	}
	// Big, contested workloads first: they decide the most.
	weight := func(opts []option) float64 {
		w := 0.0
		for _, o := range opts {
			u := 0.0
			for _, ru := range o.rows {
				u += ru.u
			}
			w = max(w, u)
		}
		return w
	}
	order := make([]int, len(b.free))
	for q := range order {
		order[q] = q
	}
	slices.SortStableFunc(order, func(a, c int) int {
		return cmp.Compare(weight(b.opts[c]), weight(b.opts[a]))
	})
	free, opts := make([]int, len(order)), make([][]option, len(order))
	for q, o := range order {
		free[q], opts[q] = b.free[o], b.opts[o]
	}
	b.free, b.opts = free, opts
	// room[d][r] is the most the workloads from depth d on can add to row r.
	b.room = make([][]float64, len(free)+1)
	b.room[len(free)] = make([]float64, len(rows))
	for d := len(free) - 1; d >= 0; d-- {
		b.room[d] = slices.Clone(b.room[d+1])
		for q, r := range rows {
			most := 0.0
			for _, o := range opts[d] {
				for _, ru := range o.rows {
					if ru.row == r {
						most = max(most, ru.u)
					}
				}
			}
			b.room[d][q] += most
		}
	}
	b.search(0)
	return !b.aborted
}

// bnb is the state of one exact search.
type bnb struct {
	s       *solver
	L       float64
	lam     []float64
	rows    []int32
	cur     []int32
	use     []float64
	fixed   float64 // cost of the placed workloads
	R       float64 // their reduced costs
	free    []int
	opts    [][]option
	room    [][]float64
	nodes   int
	limit   int
	aborted bool
}

// bound is the Lagrangian bound of the current partial selection at depth
// d: reduced costs so far plus the priced capacity that stays unused even
// if every remaining workload fills its rows as much as it can.
func (b *bnb) bound(d int) float64 {
	v := b.L + b.R
	for q, r := range b.rows {
		if slack := 1 - b.use[r] - b.room[d][q]; slack > 0 {
			v += b.lam[r] * slack
		}
	}
	return v
}

func (b *bnb) search(d int) {
	s := b.s
	if b.aborted {
		return
	}
	b.nodes++
	if b.nodes%1024 == 0 {
		// A node costs about one bound evaluation, a pass over the rows.
		s.spend(1024 * int64(1+len(b.rows)))
	}
	if b.nodes > b.limit || b.nodes%1024 == 0 && s.stop() {
		b.aborted = true
		return
	}
	if d == len(b.free) {
		if b.fixed < s.incCost-eps(s.incCost) {
			s.offer(b.cur, s.total(b.cur))
		}
		return
	}
	i := b.free[d]
	out := s.selOf(b.cur, i)
	for _, o := range b.opts[d] {
		if b.L+b.R+o.r >= s.incCost-eps(s.incCost) {
			break // options come by reduced cost
		}
		fits := true
		for _, ru := range o.rows {
			if b.use[ru.row]+ru.u > 1+capEps {
				fits = false
				break
			}
		}
		if !fits {
			continue
		}
		for _, ru := range o.rows {
			b.use[ru.row] += ru.u
		}
		b.R += o.r
		b.fixed += o.cost
		if b.bound(d+1) < s.incCost-eps(s.incCost) {
			copy(out, o.sel)
			b.search(d + 1)
		}
		b.R -= o.r
		b.fixed -= o.cost
		for _, ru := range o.rows {
			b.use[ru.row] -= ru.u
		}
		if b.aborted {
			return
		}
	}
}

// options lists workload i's option sets whose reduced cost (priced cost
// minus v, its Lagrangian minimum) fits into the gap, by reduced cost. It
// returns false when there are too many to search.
func (b *bnb) options(i int, v float64) ([]option, bool) {
	s := b.s
	ws := &s.m.ws[i]
	gap := s.incCost - b.L - eps(s.incCost)
	priced := func(c *cand) float64 {
		if c.k < 0 {
			return c.cost
		}
		return c.cost + b.lam[2*c.k]*c.nv + b.lam[2*c.k+1]*c.nm
	}
	var opts []option
	if r := s.m.penalty - v; r < gap {
		opts = append(opts, option{r: r, cost: s.m.penalty, sel: []int32{-1}})
	}
	mk := func(js []int32, pc float64) option {
		o := option{r: max(0, pc-v), sel: slices.Clone(js)}
		for _, j := range js {
			c := &ws.cands[j]
			o.cost += c.cost
			if c.k >= 0 {
				o.rows = append(o.rows, rowUse{2 * c.k, c.nv}, rowUse{2*c.k + 1, c.nm})
			}
		}
		slices.Sort(o.sel)
		return o
	}
	if ws.n == 1 {
		for j := range ws.cands {
			if pc := priced(&ws.cands[j]); pc-v < gap {
				opts = append(opts, mk([]int32{int32(j)}, pc))
			}
		}
	} else {
		type pj struct {
			pc float64
			j  int32
		}
		ps := make([]pj, len(ws.cands))
		for j := range ws.cands {
			ps[j] = pj{priced(&ws.cands[j]), int32(j)}
		}
		slices.SortFunc(ps, func(a, c pj) int { return cmp.Or(cmp.Compare(a.pc, c.pc), int(a.j-c.j)) })
		js := make([]int32, 0, ws.n)
		tooMany := false
		var rec func(from int, sum float64)
		rec = func(from int, sum float64) {
			if tooMany {
				return
			}
			if len(js) == ws.n {
				opts = append(opts, mk(js, sum))
				tooMany = len(opts) > maxOptions
				return
			}
			need := float64(ws.n - len(js))
			for q := from; q < len(ps); q++ {
				// ps is sorted, so every completion costs at least this.
				if sum+need*ps[q].pc-v >= gap {
					return
				}
				if groupTaken(ws, js, ws.cands[ps[q].j].g) {
					continue
				}
				js = append(js, ps[q].j)
				rec(q+1, sum+ps[q].pc)
				js = js[:len(js)-1]
			}
		}
		rec(0, 0)
		if tooMany {
			return nil, false
		}
	}
	if len(opts) > maxOptions {
		return nil, false
	}
	slices.SortStableFunc(opts, func(a, c option) int { return cmp.Compare(a.r, c.r) })
	return opts, true
}
