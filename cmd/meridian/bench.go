package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/scheduler"
)

// newBenchCmd returns "meridian bench", the home of solver benchmarks.
func newBenchCmd() *cobra.Command {
	bench := &cobra.Command{
		Use:   "bench",
		Short: "Benchmark Meridian's solvers on generated instances",
		Args:  cobra.NoArgs,
	}
	bench.AddCommand(newBenchPlacementCmd())
	return bench
}

// benchPlacementOptions are the flags of "meridian bench placement".
type benchPlacementOptions struct {
	workloads, targets int
	seed               int64
	emitLP             string
	format             string
	repeat             int
	// generator names the instance generator: "default" or "sites".
	generator string
}

func newBenchPlacementCmd() *cobra.Command {
	o := benchPlacementOptions{}
	cmd := &cobra.Command{
		Use:   "placement",
		Short: "Solve a generated placement instance and report its cost, bound and time",
		Long: `Generate a reproducible random placement instance (see docs/placement.md for
its shape), solve it with Meridian's scheduler under the default settings and
print one JSON object on stdout:

  {"workloads","targets","cost","lower_bound","gap_percent","seconds"}

cost is the objective of the MILP that --emit-lp writes, at Meridian's
solution; lower_bound is Meridian's proven bound on that objective; seconds
covers the solve only, the fastest of --repeat solves (solving is
deterministic, so every repeat finds the same solution unless the time
limit cuts it short; the last one is reported). With --emit-lp the same instance is written as a
CPLEX-LP MILP that glpsol --lp and cbc solve as is, for comparison
(scripts/bench-placement.sh does this).`,
		Example: `  meridian bench placement --workloads 1000 --targets 50 --seed 1
  meridian bench placement --generator sites --workloads 500 --targets 40
  meridian bench placement --workloads 200 --targets 20 --emit-lp /tmp/p.lp && cbc /tmp/p.lp solve`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runBenchPlacement(ctx, cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.workloads, "workloads", 1000, "number of workloads to generate")
	f.IntVar(&o.targets, "targets", 50, "number of targets to generate (20% of them capacity-limited)")
	f.Int64Var(&o.seed, "seed", 1, "generator seed; equal seeds give equal instances")
	f.StringVar(&o.emitLP, "emit-lp", "", "also write the instance as a CPLEX-LP MILP to this file")
	f.StringVar(&o.generator, "generator", "default", "instance generator: default (mixed clouds and limited targets) or sites (fixed-size sites, heavily oversubscribed)")
	f.StringVar(&o.format, "format", "json", "output format: json or text")
	f.IntVar(&o.repeat, "repeat", 1, "solve this many times and report the fastest, to damp noise from other processes")
	return cmd
}

// benchPlacementReport is the JSON the command prints.
type benchPlacementReport struct {
	Workloads  int     `json:"workloads"`
	Targets    int     `json:"targets"`
	Cost       float64 `json:"cost"`
	LowerBound float64 `json:"lower_bound"`
	GapPercent float64 `json:"gap_percent"`
	Seconds    float64 `json:"seconds"`
}

func runBenchPlacement(ctx context.Context, stdout io.Writer, o benchPlacementOptions) error {
	switch {
	case o.workloads < 1 || o.targets < 1:
		return meridian.Errorf(meridian.EINVALID, "--workloads and --targets must be positive, got %d and %d", o.workloads, o.targets)
	case o.format != "json" && o.format != "text":
		return meridian.Errorf(meridian.EINVALID, "--format must be json or text, got %q", o.format)
	case o.repeat < 1:
		return meridian.Errorf(meridian.EINVALID, "--repeat must be at least 1, got %d", o.repeat)
	}
	var p *scheduler.Problem
	switch o.generator {
	case "", "default":
		p = scheduler.Generate(o.seed, o.workloads, o.targets)
	case "sites":
		p = scheduler.GenerateSites(o.seed, o.workloads, o.targets)
	default:
		return meridian.Errorf(meridian.EINVALID, "--generator must be default or sites, got %q", o.generator)
	}
	if o.emitLP != "" {
		if err := writeLPFile(o.emitLP, p); err != nil {
			return err
		}
	}
	var res *scheduler.Result
	elapsed := math.Inf(1)
	for range o.repeat {
		start := time.Now()
		r, err := scheduler.Solve(ctx, p)
		if err != nil {
			return fmt.Errorf("bench placement: %w", err)
		}
		res, elapsed = r, min(elapsed, time.Since(start).Seconds())
	}
	obj, err := scheduler.Objective(p, res)
	if err != nil {
		return fmt.Errorf("bench placement: %w", err)
	}
	var placed meridian.Money
	for _, pl := range res.Placements {
		placed += pl.MonthlyCost
	}
	rep := benchPlacementReport{
		Workloads: o.workloads,
		Targets:   o.targets,
		Cost:      obj,
		// The bound is proven for the cost of what is placed; the
		// objective adds the same constant (drop penalties) to both.
		LowerBound: obj - float64(placed-res.Stats.LowerBound),
		GapPercent: res.Stats.GapPercent,
		Seconds:    elapsed,
	}
	if o.format == "text" {
		tm := res.Timings
		_, err = fmt.Fprintf(stdout, "%d workloads x %d targets: cost %.2f, lower bound %.2f, gap %.4f%%, %.3fs (%s; build %.3fs, search %.3fs, explain %.3fs)\n",
			rep.Workloads, rep.Targets, rep.Cost, rep.LowerBound, rep.GapPercent, rep.Seconds, res.Stats.Method,
			tm.Build.Seconds(), tm.Search.Seconds(), tm.Explain.Seconds())
		return err
	}
	enc := json.NewEncoder(stdout)
	return enc.Encode(rep)
}

func writeLPFile(path string, p *scheduler.Problem) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--emit-lp: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--emit-lp: %w", cerr)
		}
	}()
	if err := scheduler.WriteLP(f, p); err != nil {
		return fmt.Errorf("--emit-lp %s: %w", path, err)
	}
	return nil
}
