package main

import (
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian/forecast"
	"github.com/meridianhq/meridian/planner"
)

func newSimulateCmd(a *app) *cobra.Command {
	var (
		rf         repoFlags
		historyDir string
		replan     time.Duration
		format     string
	)
	cmd := &cobra.Command{
		Use:   "simulate --repo PATH|URL [--history-dir DIR] [--replan 4h] [--format table|json]",
		Short: "Replay real load to compare static, reactive, forecast and oracle provisioning",
		Long: `simulate replays each workload's load history over its final 20% in
--replan windows. Each window it sizes the workloads four ways (static peak,
reactive, Meridian's forecast, and a perfect-foresight oracle), places the
whole config with the real price catalog, pays for what was provisioned, and
checks the actual load against the capacity provisioned. It reports each
strategy's cost and served-demand SLA: the share of slots in which
provisioned capacity was at least the actual load.

History comes from --history-dir DIR/<workload>.csv when given, else from
each workload's load.history in the repo.`,
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
			series := map[string]forecast.Series{}
			for i := range l.cfg.Workloads {
				w := &l.cfg.Workloads[i]
				var src forecast.Source
				if historyDir != "" {
					p := filepath.Join(historyDir, w.Name+".csv")
					if _, err := os.Stat(p); err != nil {
						continue
					}
					src = forecast.CSVSource{FS: os.DirFS(historyDir), Path: w.Name + ".csv"}
				} else {
					s, ok, err := forecast.SourceFor(w, l.cfg.Settings, l.snap.FS, forecast.SourceOptions{})
					if err != nil {
						return configExit(err)
					}
					if !ok {
						continue
					}
					src = s
				}
				s, err := src.History(ctx)
				if err != nil {
					return configExit(fmt.Errorf("workload %s: %w", w.Name, err))
				}
				series[w.Name] = s
			}
			p, err := planner.New(planner.WithLogger(a.logger))
			if err != nil {
				return err
			}
			sim, err := p.Simulate(ctx, planner.SimulationInput{
				Input:  l.input(nil),
				Series: series,
				Replan: replan,
			})
			if err != nil {
				return &exitErr{code: exitError, err: err}
			}
			if format == "json" {
				return writeJSON(a.stdout, sim)
			}
			fmt.Fprintf(a.stdout, "Replayed %d workloads (%v) over %d windows of %s: the final 20%% of each series.\n\n",
				len(sim.Workloads), sim.Workloads, sim.Windows, replan)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STRATEGY\tCOST\tVS STATIC\tSLA (served slots)\tMEAN REPLICAS")
			for _, s := range sim.Strategies {
				fmt.Fprintf(tw, "%s\t%s\t%+.1f%%\t%.2f%% (%d/%d)\t%.2f\n", s.Name, s.Cost, s.CostVsStatic, s.SLA, s.Served, s.Slots, s.MeanReplicas)
			}
			return tw.Flush()
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&historyDir, "history-dir", "", "folder of <workload>.csv load series (default: each workload's load.history)")
	cmd.Flags().DurationVar(&replan, "replan", 4*time.Hour, "how often to re-plan")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}
