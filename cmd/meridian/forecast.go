package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
	"github.com/meridianhq/meridian/planner"
)

// workloadForecast is one row of `meridian forecast`.
type workloadForecast struct {
	Workload string          `json:"workload"`
	Sizing   meridian.Sizing `json:"sizing"`
	Start    time.Time       `json:"start,omitzero"`
	Step     string          `json:"step,omitempty"`
	P50      []float64       `json:"p50,omitempty"`
	Pq       []float64       `json:"pq,omitempty"`
	Error    string          `json:"error,omitempty"`
}

func newForecastCmd(a *app) *cobra.Command {
	var (
		rf       repoFlags
		workload string
		format   string
	)
	cmd := &cobra.Command{
		Use:   "forecast --repo PATH|URL [--workload W] [--format table|json]",
		Short: "Show each workload's load forecast and the replicas it leads to",
		Long: `forecast reads each workload's load history (load.history or
load.prometheus), forecasts it over forecast.horizon, and shows the chosen
model, the P50 and upper-quantile forecast, and the resulting replicas:
ceil(max Pq / per_replica.capacity × (1 + headroom)), clamped to
[replicas.min, replicas.max]. Workloads without history are sized at
replicas.min.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := tableOrJSON(format); err != nil {
				return err
			}
			ctx := cmd.Context()
			l, err := rf.load(ctx, a)
			if err != nil {
				return configExit(err)
			}
			in := &planner.Input{Config: l.cfg, FS: l.snap.FS}
			var rows []workloadForecast
			for i := range l.cfg.Workloads {
				w := &l.cfg.Workloads[i]
				if workload != "" && w.Name != workload {
					continue
				}
				row := workloadForecast{Workload: w.Name}
				fc, err := planner.ForecastSizer{}.Forecast(ctx, in, w)
				if err != nil {
					row.Error = err.Error()
				}
				row.Sizing = forecast.Size(w, fc, l.cfg.Settings.Forecast)
				if fc != nil {
					row.Start, row.Step, row.P50 = fc.Start, fc.Step.String(), fc.P50
					row.Pq, _ = fc.Quantile(row.Sizing.Quantile)
				}
				rows = append(rows, row)
			}
			if workload != "" && len(rows) == 0 {
				return &exitErr{code: exitError, err: fmt.Errorf("no workload named %q", workload)}
			}
			if format == "json" {
				return writeJSON(a.stdout, rows)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "WORKLOAD\tSIZING\tREPLICAS\tPEAK P50\tPEAK Pq\tEXP. UNSERVED\tMODEL")
			for _, r := range rows {
				model := r.Sizing.Model
				if r.Error != "" {
					model = "error: " + r.Error
				}
				if r.Sizing.Method != forecast.SizingForecast {
					fmt.Fprintf(tw, "%s\t%s\t%d\t-\t-\t-\t%s\n", r.Workload, r.Sizing.Method, r.Sizing.Replicas, model)
					continue
				}
				unserved := "-"
				if u := r.Sizing.ExpectedUnservedPercent; u != nil {
					unserved = fmt.Sprintf("%.3g%%", *u)
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%.4g\t%.4g (q%.3g)\t%s\t%s\n", r.Workload, r.Sizing.Method, r.Sizing.Replicas, r.Sizing.PeakP50, r.Sizing.PeakPq, r.Sizing.Quantile, unserved, model)
			}
			return tw.Flush()
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&workload, "workload", "", "show only this workload")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.AddCommand(newForecastEvalCmd())
	return cmd
}

// configExit lists config errors and turns any error into exit status 1.
func configExit(err error) error {
	if msg, ok := configErrorList(err); ok {
		return &exitErr{code: exitError, err: fmt.Errorf("%s", msg)}
	}
	return &exitErr{code: exitError, err: err}
}
