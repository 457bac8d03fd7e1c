package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable writes r as an aligned text table: one row per series with the
// automatic method's scores, times and leading models beside the naive and
// seasonal-naive scores, then the mean row.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "series\tn\tstep\tMASE\tsMAPE\tcov80\tfit ms\tcpu ms\t\tnaive MASE\tsMAPE\tcov80\t\tsnaive MASE\tsMAPE\tcov80\t\tleading model\t")
	nv, sn := r.Baselines[Naive], r.Baselines[SeasonalNaive]
	var fit, cpu float64
	for i, s := range r.Series {
		fit += s.FitSeconds
		cpu += s.CPUSeconds
		fmt.Fprintf(tw, "%s\t%d\t%gs\t%s\t%.1f\t%.1f\t\t%s\t\t%s\t\t%s\t\n",
			s.Name, s.N, s.Step, row(s.Scores), s.FitSeconds*1000, s.CPUSeconds*1000,
			row(nv.Series[i].Scores), row(sn.Series[i].Scores), models(s))
	}
	k := float64(len(r.Series))
	fmt.Fprintf(tw, "mean\t\t\t%s\t%.1f\t%.1f\t\t%s\t\t%s\t\t\t\n", row(r.Mean), fit/k*1000, cpu/k*1000, row(nv.Mean), row(sn.Mean))
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Dense == nil {
		return nil
	}
	fmt.Fprintln(w, "\nCalibration at origins every H/2 over the test region (--dense):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "series\torigins\tcov80\tbelow P95\t")
	for _, s := range r.Series {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t\n", s.Name, s.Dense.Origins, s.Dense.Coverage80, s.Dense.BelowP95)
	}
	fmt.Fprintf(tw, "mean\t%d\t%.3f\t%.3f\t\n", r.Dense.Origins, r.Dense.Coverage80, r.Dense.BelowP95)
	return tw.Flush()
}

// row renders MASE, sMAPE and coverage as tab-separated cells.
func row(s Scores) string {
	return fmt.Sprintf("%.3f\t%.2f\t%.3f", s.MASE, s.SMAPE, s.Coverage80)
}

// models renders how often each model led the combination, most frequent
// first.
func models(s SeriesResult) string {
	var parts []string
	for _, n := range s.ModelNames() {
		parts = append(parts, fmt.Sprintf("%s×%d", n, s.Models[n]))
	}
	return strings.Join(parts, " ")
}
