package scheduler

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/meridianhq/meridian"
)

// WriteLP writes p as a mixed-integer program in CPLEX LP format, so that
// glpsol --lp and cbc solve exactly the problem Solve solves:
//
//   - a binary x_<w>_<t> for every pair hysteresis and policy allow (pins
//     allow only their target), with its monthly cost, migration included;
//   - a row per workload choosing spread-many targets, and per spread_by
//     group at most one;
//   - a vCPU and a memory row per capacity-limited target;
//   - a binary drop_<w> with the drop penalty for workloads that have no
//     option avoiding limited targets, which capacity might leave out;
//   - the cost of workloads with a single possible placement on unlimited
//     targets as an objective constant, carried by the variable "const"
//     fixed to 1 by the row fix_const (LP readers disagree on bare
//     objective constants).
//
// Workloads that are unplaceable on their own are left out. The objective
// at Solve's result is Objective(p, r).
func WriteLP(w io.Writer, p *Problem) error {
	m, err := build(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	lw := &lpWriter{w: bw}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	fmt.Fprintf(bw, "\\ Meridian placement: %d workloads, %d targets\n", len(p.Workloads), len(p.Targets))
	allowed := func(i int) []int {
		var ts []int
		for t := 0; t < m.T; t++ {
			if m.pairState(i, t) == pairAllowed {
				ts = append(ts, t)
			}
		}
		return ts
	}
	forced := func(i int, ts []int) bool {
		if len(ts) != m.ws[i].n {
			return false
		}
		for _, t := range ts {
			if m.capOf[t] >= 0 {
				return false
			}
		}
		return true
	}
	constant := 0.0
	bw.WriteString("Minimize\n obj:")
	var binaries []string
	for i := range m.ws {
		if m.ws[i].static != staticNone {
			continue
		}
		ts := allowed(i)
		if forced(i, ts) {
			for _, t := range ts {
				constant += m.pairCost(i, t)
			}
			continue
		}
		for _, t := range ts {
			v := fmt.Sprintf("x_%d_%d", i, t)
			lw.term(num(m.pairCost(i, t)), v)
			binaries = append(binaries, v)
		}
		if m.ws[i].mayDrop {
			v := fmt.Sprintf("drop_%d", i)
			lw.term(num(m.penalty), v)
			binaries = append(binaries, v)
		}
	}
	lw.term(num(constant), "const")
	lw.end()
	// The constant's carrier is fixed by a row rather than a bound, which
	// also keeps the section non-empty when nothing else is left.
	bw.WriteString("Subject To\n fix_const: + 1 const = 1\n")
	capV := make([][]string, len(m.caps))
	capM := make([][]string, len(m.caps))
	for i := range m.ws {
		ws := &m.ws[i]
		if ws.static != staticNone {
			continue
		}
		ts := allowed(i)
		if forced(i, ts) {
			continue
		}
		fmt.Fprintf(bw, " w_%d:", i)
		for _, t := range ts {
			lw.term("1", fmt.Sprintf("x_%d_%d", i, t))
		}
		if ws.mayDrop {
			lw.term(strconv.Itoa(ws.n), fmt.Sprintf("drop_%d", i))
		}
		lw.rhs("=", strconv.Itoa(ws.n))
		if ws.n > 1 && p.Workloads[i].Requires.SpreadBy != meridian.SpreadByTarget {
			groups := map[int32][]int{}
			var order []int32
			for _, t := range ts {
				g := m.group(i, t)
				if groups[g] == nil {
					order = append(order, g)
				}
				groups[g] = append(groups[g], t)
			}
			for _, g := range order {
				if len(groups[g]) < 2 {
					continue
				}
				fmt.Fprintf(bw, " g_%d_%d:", i, g)
				for _, t := range groups[g] {
					lw.term("1", fmt.Sprintf("x_%d_%d", i, t))
				}
				lw.rhs("<=", "1")
			}
		}
		for _, t := range ts {
			if k := m.capOf[t]; k >= 0 {
				v := fmt.Sprintf("x_%d_%d", i, t)
				if ws.dv > 0 {
					capV[k] = append(capV[k], num(ws.dv), v)
				}
				if ws.dm > 0 {
					capM[k] = append(capM[k], num(ws.dm), v)
				}
			}
		}
	}
	for k, c := range m.caps {
		for _, row := range []struct {
			name  string
			terms []string
			cap   float64
		}{{"cpu", capV[k], c.cv}, {"mem", capM[k], c.cm}} {
			if len(row.terms) == 0 || row.cap > 1e300 {
				continue
			}
			fmt.Fprintf(bw, " %s_%d:", row.name, c.t)
			for q := 0; q < len(row.terms); q += 2 {
				lw.term(row.terms[q], row.terms[q+1])
			}
			lw.rhs("<=", num(row.cap))
		}
	}
	bw.WriteString("Binaries\n")
	for q, v := range binaries {
		bw.WriteString(" ")
		bw.WriteString(v)
		if q%10 == 9 || q == len(binaries)-1 {
			bw.WriteString("\n")
		}
	}
	bw.WriteString("End\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write LP: %w", err)
	}
	return nil
}

// lpWriter writes linear expressions, breaking lines well below the
// 255-character limit some LP readers have.
type lpWriter struct {
	w     *bufio.Writer
	count int
}

func (l *lpWriter) term(coef, v string) {
	if l.count > 0 && l.count%6 == 0 {
		l.w.WriteString("\n  ")
	}
	l.w.WriteString(" + ")
	l.w.WriteString(coef)
	l.w.WriteString(" ")
	l.w.WriteString(v)
	l.count++
}

func (l *lpWriter) end() {
	l.w.WriteString("\n")
	l.count = 0
}

func (l *lpWriter) rhs(sense, v string) {
	l.w.WriteString(" ")
	l.w.WriteString(sense)
	l.w.WriteString(" ")
	l.w.WriteString(v)
	l.end()
}

// Objective is the value at r of the objective of the program WriteLP
// writes for p: the monthly cost of every placement plus the drop penalty
// of each workload that capacity left out.
func Objective(p *Problem, r *Result) (float64, error) {
	m, err := build(p)
	if err != nil {
		return 0, err
	}
	v := 0.0
	for _, pl := range r.Placements {
		v += float64(pl.MonthlyCost)
	}
	byName := make(map[string]int, len(p.Workloads))
	for i := range p.Workloads {
		byName[p.Workloads[i].Name] = i
	}
	for _, u := range r.Unplaceable {
		if i, ok := byName[u.Workload]; ok && m.ws[i].static == staticNone {
			v += m.penalty
		}
	}
	return v, nil
}
