package eval

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"text/tabwriter"

	"github.com/meridianhq/meridian/forecast"
)

// ShrinkGrid and AdaptRateGrid are the values RunFolds tries for the
// forecaster's two tunable constants (forecast.Tuning): the defaults and
// values on either side of them, wide enough apart to show whether the
// choice matters.
func ShrinkGrid() []float64    { return []float64{0.15, 0.3, 0.5} }
func AdaptRateGrid() []float64 { return []float64{0.05, 0.1, 0.2, 0.5} }

// FoldsReport is a leave-series-out evaluation.
type FoldsReport struct {
	Folds int `json:"folds"`
	// Series holds each series' scores when it was held out, with the
	// constants tuned on the other folds.
	Series []FoldResult `json:"series"`
	// Mean is the mean over the held-out scores; InSample the mean of the
	// forecaster with its default constants on all series, for comparison.
	Mean     Scores `json:"mean"`
	InSample Scores `json:"in_sample"`
}

// FoldResult is one series scored out of sample.
type FoldResult struct {
	Name   string          `json:"name"`
	Fold   int             `json:"fold"`
	Tuning forecast.Tuning `json:"tuning"`
	Scores
	// InSample is the series' scores with the default constants.
	InSample Scores `json:"in_sample"`
}

// RunFolds is leave-series-out evaluation. The series of fsys, in name
// order, are dealt round-robin into k folds. For each fold, the constants
// are chosen on the other folds' series and the fold's series are scored
// with them: the shrinkage toward the robust default by the lowest mean
// MASE, then the adaptive conformal rate by the mean distance of the 80 %
// coverage from 0.8 (the rate moves only the intervals, so the two choices
// separate). Every constant is thereby tuned on some series and scored on
// others. It costs one evaluation per grid point, whatever k.
func RunFolds(ctx context.Context, fsys fs.FS, k int, opts Options) (*FoldsReport, error) {
	data, err := readAll(fsys)
	if err != nil {
		return nil, err
	}
	if k < 2 || k > len(data) {
		return nil, fmt.Errorf("eval: --folds must be between 2 and the number of series (%d), got %d", len(data), k)
	}
	// Dense scores would be computed for every grid point; they belong to
	// Run.
	opts.Dense = false
	shrinks, rates := ShrinkGrid(), AdaptRateGrid()
	// scores[a][b][s] is series s with shrinks[a] and rates[b].
	scores := make([][][]Scores, len(shrinks))
	for a, sh := range shrinks {
		scores[a] = make([][]Scores, len(rates))
		for b, r := range rates {
			o := opts
			o.Tuning = forecast.Tuning{Shrink: sh, AdaptRate: r}
			rep, err := evaluate(ctx, data, o)
			if err != nil {
				return nil, err
			}
			for _, sr := range rep.Series {
				scores[a][b] = append(scores[a][b], sr.Scores)
			}
		}
	}
	def, err := evaluate(ctx, data, opts)
	if err != nil {
		return nil, err
	}
	out := &FoldsReport{Folds: k, InSample: def.Mean}
	var held []Scores
	for f := range k {
		train := func(s int) bool { return s%k != f }
		a := argmin(len(shrinks), func(a int) float64 {
			return meanOver(len(data), train, func(s int) float64 { return float64(scores[a][0][s].MASE) })
		})
		b := argmin(len(rates), func(b int) float64 {
			return meanOver(len(data), train, func(s int) float64 { return math.Abs(float64(scores[a][b][s].Coverage80) - coverage) })
		})
		for s := range data {
			if train(s) {
				continue
			}
			out.Series = append(out.Series, FoldResult{
				Name: data[s].name, Fold: f,
				Tuning:   forecast.Tuning{Shrink: shrinks[a], AdaptRate: rates[b]},
				Scores:   scores[a][b][s],
				InSample: def.Series[s].Scores,
			})
			held = append(held, scores[a][b][s])
		}
	}
	out.Mean = meanOf(held)
	return out, nil
}

// argmin is the index in [0, n) with the smallest f, the first on ties.
func argmin(n int, f func(int) float64) int {
	best, bv := 0, math.Inf(1)
	for i := range n {
		if v := f(i); v < bv {
			best, bv = i, v
		}
	}
	return best
}

// meanOver is the mean of f over the s in [0, n) that keep selects.
func meanOver(n int, keep func(int) bool, f func(int) float64) float64 {
	var sum float64
	cnt := 0
	for s := range n {
		if keep(s) {
			sum += f(s)
			cnt++
		}
	}
	return sum / float64(max(cnt, 1))
}

// WriteTable writes r as an aligned text table: each series' held-out
// scores and the constants it was scored with beside its in-sample scores.
func (r *FoldsReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "series\tfold\tshrink\trate\tMASE\tsMAPE\tcov80\t\tin-sample MASE\tsMAPE\tcov80\t\n")
	for _, s := range r.Series {
		fmt.Fprintf(tw, "%s\t%d\t%g\t%g\t%s\t\t%s\t\n", s.Name, s.Fold, s.Tuning.Shrink, s.Tuning.AdaptRate, row(s.Scores), row(s.InSample))
	}
	fmt.Fprintf(tw, "mean (%d folds)\t\t\t\t%s\t\t%s\t\n", r.Folds, row(r.Mean), row(r.InSample))
	return tw.Flush()
}

// WriteJSON writes r as indented JSON.
func (r *FoldsReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }
