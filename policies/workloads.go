package policies

import (
	"cmp"
	"context"
	"slices"

	"github.com/meridianhq/meridian"
)

// CheckWorkloads runs the workload rules on every workload and returns
// their findings, with File and Line taken from the workload's Origin for
// the finding's field. Findings are sorted by workload, rule, field,
// message and severity. The whole call is one evaluation, bounded by the
// engine's evaluation timeout (WithEvalTimeout).
func (e *Engine) CheckWorkloads(ctx context.Context, ws []meridian.Workload) ([]meridian.Finding, error) {
	ctx, cancel := e.opts.withDeadline(ctx)
	defer cancel()
	docs, err := e.workloadDocs(ctx, ws)
	if err != nil {
		return nil, err
	}
	return e.checkWorkloads(ctx, ws, docs)
}

// Check runs both kinds of rule: CheckWorkloads and CheckPlacements in one
// call, building every workload's input document once for both. The whole
// call is one evaluation, bounded by the engine's evaluation timeout.
func (e *Engine) Check(ctx context.Context, ws []meridian.Workload, ts []meridian.Target) ([]meridian.Finding, [][][]meridian.Violation, error) {
	ctx, cancel := e.opts.withDeadline(ctx)
	defer cancel()
	docs, err := e.workloadDocs(ctx, ws)
	if err != nil {
		return nil, nil, err
	}
	findings, err := e.checkWorkloads(ctx, ws, docs)
	if err != nil {
		return nil, nil, err
	}
	matrix, err := e.checkPlacements(ctx, ws, ts, docs)
	if err != nil {
		return nil, nil, err
	}
	return findings, matrix, nil
}

func (e *Engine) checkWorkloads(ctx context.Context, ws []meridian.Workload, docs []map[string]any) ([]meridian.Finding, error) {
	var err error
	per := make([]classes, len(e.workload))
	offsets := make([]int, len(e.workload)+1)
	for u, un := range e.workload {
		if per[u], err = classify(docs, un.workload); err != nil {
			return nil, err
		}
		offsets[u+1] = offsets[u] + len(per[u].values)
	}
	results := make([][]meridian.Violation, offsets[len(e.workload)])
	err = parallel(ctx, e.workers, len(results), func(ctx context.Context, i int) error {
		u, _ := slices.BinarySearch(offsets, i+1)
		u--
		un := e.workload[u]
		vs, err := un.eval(ctx, inputObject(per[u].values[i-offsets[u]], nil, e.settings))
		results[i] = vs
		return err
	})
	if err != nil {
		return nil, err
	}

	var out []meridian.Finding
	for i := range ws {
		w := &ws[i]
		for u := range e.workload {
			for _, v := range results[offsets[u]+per[u].of[i]] {
				out = append(out, meridian.Finding{
					Rule:        v.Rule,
					Severity:    v.Severity,
					Workload:    w.Name,
					Field:       v.Field,
					File:        w.Origin.File,
					Line:        w.Origin.LineOf(v.Field),
					Message:     v.Message,
					Remediation: v.Remediation,
				})
			}
		}
	}
	sortFindings(out)
	return out, nil
}

// workloadDocs builds input.workload for every workload, in parallel: the
// JSON round trip is the larger part of a plan's policy cost.
func (e *Engine) workloadDocs(ctx context.Context, ws []meridian.Workload) ([]map[string]any, error) {
	docs := make([]map[string]any, len(ws))
	err := parallel(ctx, e.workers, len(ws), func(_ context.Context, i int) error {
		d, err := workloadDoc(&ws[i])
		docs[i] = d
		return err
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

// sortFindings orders by workload, target, rule, field, message, severity.
func sortFindings(fs []meridian.Finding) {
	slices.SortFunc(fs, func(a, b meridian.Finding) int {
		return cmp.Or(
			cmp.Compare(a.Workload, b.Workload),
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
		)
	})
}
