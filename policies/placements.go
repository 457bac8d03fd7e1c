package policies

import (
	"context"
	"slices"
	"strings"

	"github.com/meridianhq/meridian"
)

// CheckPlacements runs the placement rules on every (workload, target)
// pair. out[i][j] holds the violations of ws[i] on ts[j] (deny, warn and
// info, each with its Severity), sorted by rule, field, message and
// severity; it is nil when the pair passes. Every cell has its own backing
// array, so callers may modify one without affecting another.
//
// Pairs that the rules cannot tell apart are evaluated once: see the
// package documentation. The whole call is one evaluation, bounded by the
// engine's evaluation timeout (WithEvalTimeout).
func (e *Engine) CheckPlacements(ctx context.Context, ws []meridian.Workload, ts []meridian.Target) ([][][]meridian.Violation, error) {
	ctx, cancel := e.opts.withDeadline(ctx)
	defer cancel()
	wdocs, err := e.workloadDocs(ctx, ws)
	if err != nil {
		return nil, err
	}
	return e.checkPlacements(ctx, ws, ts, wdocs)
}

func (e *Engine) checkPlacements(ctx context.Context, ws []meridian.Workload, ts []meridian.Target, wdocs []map[string]any) ([][][]meridian.Violation, error) {
	var err error
	tdocs := make([]map[string]any, len(ts))
	for j := range ts {
		if tdocs[j], err = targetDoc(&ts[j]); err != nil {
			return nil, err
		}
	}

	n := len(e.placement)
	wcl, tcl := make([]classes, n), make([]classes, n)
	offsets := make([]int, n+1)
	for u, un := range e.placement {
		if wcl[u], err = classify(wdocs, un.workload); err != nil {
			return nil, err
		}
		if tcl[u], err = classify(tdocs, un.target); err != nil {
			return nil, err
		}
		offsets[u+1] = offsets[u] + len(wcl[u].values)*len(tcl[u].values)
	}
	// results[offsets[u] + a*len(tcl[u].values) + b] is unit u's verdict on
	// workload class a and target class b.
	results := make([][]meridian.Violation, offsets[n])
	err = parallel(ctx, e.workers, len(results), func(ctx context.Context, i int) error {
		u, _ := slices.BinarySearch(offsets, i+1)
		u--
		nb := len(tcl[u].values)
		a, b := (i-offsets[u])/nb, (i-offsets[u])%nb
		vs, err := e.placement[u].eval(ctx, inputObject(wcl[u].values[a], tcl[u].values[b], e.settings))
		results[i] = vs
		return err
	})
	if err != nil {
		return nil, err
	}

	// Merge per-unit verdicts once per pair of signatures, then copy into
	// the matrix.
	wsig, wreps := signatures(len(ws), wcl)
	tsig, treps := signatures(len(ts), tcl)
	merged := make([][]meridian.Violation, len(wreps)*len(treps))
	for sw, wi := range wreps {
		for st, ti := range treps {
			var vs []meridian.Violation
			for u := range n {
				nb := len(tcl[u].values)
				vs = append(vs, results[offsets[u]+wcl[u].of[wi]*nb+tcl[u].of[ti]]...)
			}
			sortViolations(vs)
			merged[sw*len(treps)+st] = vs
		}
	}
	total := 0
	for i := range ws {
		for j := range ts {
			total += len(merged[wsig[i]*len(treps)+tsig[j]])
		}
	}
	backing := make([]meridian.Violation, 0, total)
	out := make([][][]meridian.Violation, len(ws))
	for i := range ws {
		out[i] = make([][]meridian.Violation, len(ts))
		for j := range ts {
			vs := merged[wsig[i]*len(treps)+tsig[j]]
			if len(vs) == 0 {
				continue
			}
			start := len(backing)
			backing = append(backing, vs...)
			out[i][j] = backing[start:len(backing):len(backing)]
		}
	}
	return out, nil
}

// PlacementFinding turns a violation of w on t into a Finding, for the
// planner to report on a pinned or currently applied target. A field
// starting with "target." points into the target's file, anything else into
// the workload's.
func PlacementFinding(v meridian.Violation, w *meridian.Workload, t *meridian.Target) meridian.Finding {
	f := meridian.Finding{
		Rule:        v.Rule,
		Severity:    v.Severity,
		Workload:    w.Name,
		Target:      t.Name,
		Field:       v.Field,
		File:        w.Origin.File,
		Line:        w.Origin.LineOf(v.Field),
		Message:     v.Message,
		Remediation: v.Remediation,
	}
	if v.Field == "target" || strings.HasPrefix(v.Field, "target.") {
		f.File = t.Origin.File
		f.Line = t.Origin.LineOf(strings.TrimPrefix(strings.TrimPrefix(v.Field, "target"), "."))
	}
	return f
}
