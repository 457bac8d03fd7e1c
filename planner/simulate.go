package planner

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/forecast"
)

// Strategies compared by Simulate, in report order.
const (
	StrategyStatic   = "static-peak"
	StrategyReactive = "reactive"
	StrategyForecast = "forecast"
	StrategyOracle   = "oracle"
)

// SimulationInput is a config repo plus the load series to replay.
type SimulationInput struct {
	Input
	// Series maps workload name to its full load history.
	Series map[string]forecast.Series
	// Replan is the window between re-plans (default 4h).
	Replan time.Duration
	// ScaleUpDelay is how long new replicas take to serve after a re-plan
	// asks for them (scheduling, image pull, readiness); until then a
	// workload that scales up runs with its previous replicas. Zero means
	// DefaultScaleUpDelay; negative means none.
	ScaleUpDelay time.Duration
}

// DefaultScaleUpDelay is the scale-up delay when none is given: a few
// minutes, what a pod on a warm node pool takes to pull and pass
// readiness.
const DefaultScaleUpDelay = 5 * time.Minute

// Simulation is the outcome of replaying load against four provisioning
// strategies.
type Simulation struct {
	Workloads []string `json:"workloads"`
	Windows   int      `json:"windows"`
	// Replan is the window length, e.g. "4h0m0s"; ScaleUpDelay likewise.
	Replan       string            `json:"replan"`
	ScaleUpDelay string            `json:"scale_up_delay"`
	Strategies   []StrategyOutcome `json:"strategies"`
}

// StrategyOutcome is what one strategy paid and delivered.
type StrategyOutcome struct {
	Name string `json:"name"`
	// Cost is what the replayed workloads cost the config over all windows,
	// at catalog prices, pro rata from the monthly cost (730 h), plus the
	// one-off egress of every move: their own placements (OwnCost) and
	// what they displace (DisplacedCost).
	Cost meridian.Money `json:"cost"`
	// OwnCost is what the replayed workloads' own placements and moves
	// cost.
	OwnCost meridian.Money `json:"own_cost"`
	// DisplacedCost is what the config's other workloads paid beyond what
	// they cost placed without the replayed ones: a strategy that holds
	// capacity on a cheap limited target pushes others onto dearer ones,
	// and those moves' egress, and the organisation pays for it all.
	DisplacedCost meridian.Money `json:"displaced_cost"`
	// CostVsStatic is the relative change against static peak provisioning,
	// GapToOracle the relative excess over the oracle, both in percent.
	CostVsStatic float64 `json:"cost_vs_static_percent"`
	GapToOracle  float64 `json:"gap_to_oracle_percent"`
	// DemandServed is the share of the replayed demand, summed over all
	// slots, that provisioned capacity served, in percent. Demand is
	// counted in replicas' worth of load (load / per_replica.capacity), the
	// one unit all workloads share.
	DemandServed float64 `json:"demand_served_percent"`
	// SlotsServed is the share of slots in which capacity was at least the
	// actual load, in percent. SLA is the same figure under its old name,
	// kept for one release.
	SlotsServed float64 `json:"slots_served_percent"`
	SLA         float64 `json:"sla_percent"`
	Slots       int     `json:"slots"`
	Served      int     `json:"served"`
	// Moves counts placements on a target the workload did not run on in
	// the window before, over all workloads of the config.
	Moves int `json:"moves"`
	// MeanReplicas is the average total replicas per workload and window.
	MeanReplicas float64 `json:"mean_replicas"`
	// Workloads breaks the outcome down by replayed workload, by name.
	Workloads []WorkloadOutcome `json:"workloads"`
}

// WorkloadOutcome is what one strategy paid and delivered for one replayed
// workload.
type WorkloadOutcome struct {
	Name string `json:"name"`
	// Cost is the workload's own placements, moves and autoscaled replicas
	// (displacement is not attributed to single workloads).
	Cost         meridian.Money `json:"cost"`
	DemandServed float64        `json:"demand_served_percent"`
	SlotsServed  float64        `json:"slots_served_percent"`
	// UnservedShare is the workload's unserved demand in percent of all
	// the replayed demand: how much of the strategy's shortfall from 100%
	// demand served this workload accounts for.
	UnservedShare float64 `json:"unserved_share_percent"`
	MeanReplicas  float64 `json:"mean_replicas"`
	demand        float64
	served        float64
	slots, full   int
}

type simSeries struct {
	w      *meridian.Workload
	s      forecast.Series
	t0     int // first slot of the replayed region
	window int // slots per window
	// delay is the scale-up delay in slots, fractional when the step is
	// longer than the delay.
	delay float64
	fc    *forecast.Forecaster
}

// strategyState is what a strategy carries from one window to the next,
// as apply does: the ledger of where each workload runs and the capacity
// each replayed workload has running.
type strategyState struct {
	ledger  map[string][]string
	running map[string]int
	// per holds the outcome of each replayed workload, in series order.
	per []WorkloadOutcome
}

// Simulate replays each series' final 20% in Replan windows. Every window,
// each strategy sizes the replayed workloads and the whole config is
// placed with the real catalog, the target capacities and, as `meridian
// apply` has it, the previous window's placements as the ledger: moves
// must clear the hysteresis threshold (placement.min_saving_*) and pay
// their migration. The strategy pays for what it provisioned and for the
// egress of each move, and for what the config's other workloads pay
// beyond their cost placed without the replayed ones (DisplacedCost); then the window's actual load is checked against
// the capacity, where replicas a scale-up adds only serve after
// ScaleUpDelay. Between re-plans, reactive and forecast run an autoscaler
// (see scaler), as forecast-driven baselines are run in practice.
//
//   - static-peak sizes once for the historical peak plus headroom;
//   - reactive sizes for the last observed value plus headroom;
//   - forecast sizes from the forecast as `meridian plan` does (the upper
//     quantile plus headroom, or forecast.sla);
//   - oracle sizes for the window's true peak with no headroom and, knowing
//     the future, scales up ahead of time: the least any strategy
//     provisions at 100% served demand. It is not a lower bound on cost:
//     its sizes change every window, and each change can reshuffle the
//     other workloads on a shared limited target.
func (p *Planner) Simulate(ctx context.Context, in SimulationInput) (*Simulation, error) {
	if in.Replan <= 0 {
		in.Replan = 4 * time.Hour
	}
	if in.ScaleUpDelay == 0 {
		in.ScaleUpDelay = DefaultScaleUpDelay
	}
	delay := max(in.ScaleUpDelay, 0)
	settings := in.Config.Settings.Forecast
	var series []*simSeries
	windows := math.MaxInt
	for i := range in.Config.Workloads {
		w := &in.Config.Workloads[i]
		s, ok := in.Series[w.Name]
		if !ok {
			continue
		}
		if w.PerReplica.Capacity <= 0 {
			return nil, fmt.Errorf("simulate %s: per_replica.capacity must be positive to turn load into replicas", w.Name)
		}
		n := len(s.Values)
		win := int(in.Replan / s.Step)
		if win < 1 {
			return nil, fmt.Errorf("simulate %s: replan %s is shorter than the series step %s", w.Name, in.Replan, s.Step)
		}
		t0 := 4 * n / 5
		windows = min(windows, (n-t0)/win)
		series = append(series, &simSeries{w: w, s: s, t0: t0, window: win, delay: float64(delay) / float64(s.Step),
			fc: forecast.NewForecaster(forecast.Options{Horizon: in.Replan, Quantiles: []float64{settings.Quantile}})})
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("simulate: no workload has load history to replay")
	}
	if windows < 1 {
		return nil, fmt.Errorf("simulate: the shortest series has less than one %s window in its final 20%%", in.Replan)
	}
	names := make([]string, len(series))
	index := make(map[string]int, len(series)) // workload name → position in series
	for i, ss := range series {
		names[i] = ss.w.Name
		index[ss.w.Name] = i
	}
	sort.Strings(names)

	strategies := []string{StrategyStatic, StrategyReactive, StrategyForecast, StrategyOracle}
	out := make([]StrategyOutcome, len(strategies))
	state := make([]strategyState, len(strategies))
	for i, s := range strategies {
		out[i].Name = s
		state[i] = strategyState{ledger: maps.Clone(in.Current), running: map[string]int{}, per: make([]WorkloadOutcome, len(series))}
		for j, ss := range series {
			state[i].per[j].Name = ss.w.Name
		}
	}
	hours := in.Replan.Hours()
	// The plan amortises a move's one-off egress over this many months
	// (meridian.MigrationCost); the replay pays it in full.
	amortize := in.Config.Settings.Placement.MigrationAmortizeMonths
	if amortize <= 0 {
		amortize = 1
	}
	// The other workloads' cost without the replayed ones, the baseline
	// of DisplacedCost.
	others, err := p.othersCost(ctx, in.Input, names)
	if err != nil {
		return nil, err
	}
	for k := range windows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for si, strategy := range strategies {
			st := &state[si]
			fixed := map[string]meridian.Sizing{}
			for _, ss := range series {
				r, err := ss.replicas(ctx, strategy, k, settings)
				if err != nil {
					return nil, err
				}
				fixed[ss.w.Name] = meridian.Sizing{Method: strategy, Replicas: r}
			}
			pin := in.Input
			pin.Current = st.ledger
			plan, err := p.planWith(ctx, pin, fixedSizer(fixed))
			if err != nil {
				return nil, fmt.Errorf("simulate window %d (%s): %w", k, strategy, err)
			}
			provisioned := map[string]int{}
			next := map[string][]string{}
			for _, pl := range plan.Placements {
				next[pl.Workload] = append(next[pl.Workload], pl.Target)
				moved := len(st.ledger[pl.Workload]) > 0 && !slices.Contains(st.ledger[pl.Workload], pl.Target)
				if moved {
					out[si].Moves++
				}
				// The migration is paid once, in full, when the move
				// happens, rather than amortised as the plan shows it.
				c := (pl.MonthlyCost - pl.Cost.Migration) * meridian.Money(hours/meridian.HoursPerMonth)
				if moved {
					c += pl.Cost.Migration * meridian.Money(amortize)
				}
				if _, ok := fixed[pl.Workload]; !ok {
					out[si].DisplacedCost += c
					continue
				}
				provisioned[pl.Workload] += pl.Replicas
				st.per[index[pl.Workload]].Cost += c
			}
			out[si].DisplacedCost -= others * meridian.Money(hours/meridian.HoursPerMonth)
			st.ledger = next
			room := roomLeft(in.Config, plan)
			for j, ss := range series {
				now := provisioned[ss.w.Name]
				before, ok := st.running[ss.w.Name]
				if !ok || strategy == StrategyOracle || before > now {
					before = now
				}
				st.running[ss.w.Name] = now
				start := ss.t0 + k*ss.window
				// Static peak is fixed and the oracle needs no reaction;
				// the others run an autoscaler between re-plans.
				var sc *scaler
				if strategy == StrategyReactive || strategy == StrategyForecast {
					sc = newScaler(ss.w, plan, room)
				}
				wo := &st.per[j]
				wo.Cost += ss.serve(wo, ss.s.Values[start:start+ss.window], before, now, sc)
				wo.MeanReplicas += float64(now)
			}
		}
	}
	for i := range out {
		o := &out[i]
		var demand, served float64
		for _, wo := range state[i].per {
			o.OwnCost += wo.Cost
			o.Slots += wo.slots
			o.Served += wo.full
			o.MeanReplicas += wo.MeanReplicas
			demand += wo.demand
			served += wo.served
		}
		o.Cost = o.OwnCost + o.DisplacedCost
		o.SlotsServed = percent(float64(o.Served), float64(o.Slots))
		o.SLA = o.SlotsServed
		o.DemandServed = percent(served, demand)
		o.MeanReplicas /= float64(windows * len(series))
		o.Workloads = state[i].per
		for j := range o.Workloads {
			wo := &o.Workloads[j]
			wo.DemandServed = percent(wo.served, wo.demand)
			wo.SlotsServed = percent(float64(wo.full), float64(wo.slots))
			if demand > 0 {
				wo.UnservedShare = 100 * (wo.demand - wo.served) / demand
			}
			wo.MeanReplicas /= float64(windows)
		}
		slices.SortFunc(o.Workloads, func(a, b WorkloadOutcome) int { return cmp.Compare(a.Name, b.Name) })
	}
	oracle := out[len(out)-1].Cost
	for i := range out {
		o := &out[i]
		if base := out[0].Cost; base > 0 {
			o.CostVsStatic = 100 * float64(o.Cost-base) / float64(base)
		}
		if oracle > 0 {
			o.GapToOracle = 100 * float64(o.Cost-oracle) / float64(oracle)
		}
	}
	return &Simulation{Workloads: names, Windows: windows, Replan: in.Replan.String(), ScaleUpDelay: delay.String(), Strategies: out}, nil
}

// serve checks one window's load against the capacity: before replicas
// until the scale-up delay has passed, now replicas after, plus what the
// autoscaler sc (nil: none) adds. A slot is served pro rata over the
// parts of it each capacity held; it counts as fully served only if every
// part covered its load. serve returns what the autoscaler's replicas
// cost.
func (ss *simSeries) serve(o *WorkloadOutcome, load []float64, before, now int, sc *scaler) meridian.Money {
	per := ss.w.PerReplica.Capacity
	type batch struct {
		ready float64 // slot, fractional, from which the replicas serve
		n     int
	}
	var batches []batch
	asked := now // replicas running or asked for
	var cost meridian.Money
	slotHours := ss.s.Step.Hours()
	for i, v := range load {
		v = max(v, 0)
		// The autoscaler reacts as the slot's load exceeds every replica
		// running or asked for; what it adds serves after the delay.
		if sc != nil && v > float64(asked)*per {
			want := int(math.Ceil(v/per-1e-9)) - asked
			if n, monthly := sc.add(want, asked); n > 0 {
				batches = append(batches, batch{ready: float64(i) + ss.delay, n: n})
				asked += n
				cost += monthly * meridian.Money(float64(len(load)-i)*slotHours/meridian.HoursPerMonth)
			}
		}
		// The capacity changes within the slot where the planned scale-up
		// or a batch becomes ready.
		cuts := []float64{float64(i), float64(i + 1)}
		if c := ss.delay; c > float64(i) && c < float64(i+1) {
			cuts = append(cuts, c)
		}
		for _, b := range batches {
			if b.ready > float64(i) && b.ready < float64(i+1) {
				cuts = append(cuts, b.ready)
			}
		}
		slices.Sort(cuts)
		served, full := 0.0, true
		for j := 1; j < len(cuts); j++ {
			a, b := cuts[j-1], cuts[j]
			if b <= a {
				continue
			}
			r := now
			if a < ss.delay {
				r = before
			}
			for _, bt := range batches {
				if bt.ready <= a {
					r += bt.n
				}
			}
			c := float64(r) * per
			served += (b - a) * min(v, c)
			full = full && c >= v
		}
		o.slots++
		if full {
			o.full++
		}
		// In replicas' worth of load, so that workloads measured in
		// different units (requests, CPU, passengers) add up.
		o.demand += v / per
		o.served += served / per
	}
	return cost
}

// scaler is the autoscaler a workload runs between re-plans: it adds
// replicas up to replicas.max on the targets the plan put the workload
// on, the cheapest replica first, where the target has room left. Added
// replicas run, and are paid, until the window ends.
type scaler struct {
	w    *meridian.Workload
	opts []scaleOpt
	room map[string]*[2]float64 // free vCPU and memory per limited target, shared
}

type scaleOpt struct {
	target  string
	monthly meridian.Money // compute of one replica a month
}

// newScaler is w's autoscaler under plan; room is the capacity left on
// each limited target, which every workload's autoscaler draws from.
func newScaler(w *meridian.Workload, plan *meridian.Plan, room map[string]*[2]float64) *scaler {
	sc := &scaler{w: w, room: room}
	for _, pl := range plan.Placements {
		if pl.Workload == w.Name && pl.Replicas > 0 {
			sc.opts = append(sc.opts, scaleOpt{target: pl.Target, monthly: pl.Cost.Compute / meridian.Money(pl.Replicas)})
		}
	}
	slices.SortStableFunc(sc.opts, func(a, b scaleOpt) int { return cmp.Compare(a.monthly, b.monthly) })
	return sc
}

// add adds up to want replicas to a workload with asked replicas running
// or asked for, and returns how many it added and what they cost a month.
func (sc *scaler) add(want, asked int) (int, meridian.Money) {
	want = min(want, sc.w.Replicas.Max-asked)
	n, cost := 0, meridian.Money(0)
	for _, o := range sc.opts {
		for n < want {
			if r := sc.room[o.target]; r != nil {
				if r[0] < sc.w.PerReplica.VCPU || r[1] < sc.w.PerReplica.MemoryGiB {
					break
				}
				r[0] -= sc.w.PerReplica.VCPU
				r[1] -= sc.w.PerReplica.MemoryGiB
			}
			n++
			cost += o.monthly
		}
	}
	return n, cost
}

// roomLeft is the vCPU and memory each limited target has left under
// plan; a dimension a target does not limit is unlimited.
func roomLeft(cfg *meridian.Config, plan *meridian.Plan) map[string]*[2]float64 {
	room := map[string]*[2]float64{}
	for _, t := range cfg.Targets {
		if c := t.Capacity; c.Limited() {
			r := [2]float64{math.Inf(1), math.Inf(1)}
			if c.VCPU > 0 {
				r[0] = c.VCPU
			}
			if c.MemoryGiB > 0 {
				r[1] = c.MemoryGiB
			}
			room[t.Name] = &r
		}
	}
	byName := map[string]*meridian.Workload{}
	for i := range cfg.Workloads {
		byName[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	for _, pl := range plan.Placements {
		r, w := room[pl.Target], byName[pl.Workload]
		if r == nil || w == nil {
			continue
		}
		r[0] -= float64(pl.Replicas) * w.PerReplica.VCPU
		r[1] -= float64(pl.Replicas) * w.PerReplica.MemoryGiB
	}
	return room
}

// replicas is what strategy provisions for window k.
func (ss *simSeries) replicas(ctx context.Context, strategy string, k int, fs meridian.ForecastSettings) (int, error) {
	start := ss.t0 + k*ss.window
	vals := ss.s.Values
	size := func(load, headroom float64) int {
		r := int(math.Ceil(load/ss.w.PerReplica.Capacity*(1+headroom) - 1e-9))
		total, _ := ss.w.SplitReplicas(r)
		return total
	}
	switch strategy {
	case StrategyStatic:
		return size(peakOf(vals[:ss.t0]), fs.Headroom), nil
	case StrategyReactive:
		return size(vals[start-1], fs.Headroom), nil
	case StrategyOracle:
		return size(peakOf(vals[start:start+ss.window]), 0), nil
	case StrategyForecast:
		hist := ss.s
		hist.Values = vals[:start]
		fc, err := ss.fc.Forecast(ctx, hist)
		if err != nil {
			return 0, fmt.Errorf("forecast %s at window %d: %w", ss.w.Name, k, err)
		}
		sz := forecast.Size(ss.w, fc, fs)
		total, _ := ss.w.SplitReplicas(sz.Replicas)
		return total, nil
	}
	return 0, fmt.Errorf("unknown strategy %q", strategy)
}

// percent is 100·part/whole, and 100 when there is no whole: nothing
// demanded is all served.
func percent(part, whole float64) float64 {
	if whole <= 0 {
		return 100
	}
	return 100 * part / whole
}

func peakOf(xs []float64) float64 {
	p := math.Inf(-1)
	for _, v := range xs {
		p = max(p, v)
	}
	return p
}

// othersCost is what the config's workloads other than names cost a month,
// without migration, placed as `meridian plan` would place them if names
// did not exist.
func (p *Planner) othersCost(ctx context.Context, in Input, names []string) (meridian.Money, error) {
	cfg := *in.Config
	cfg.Workloads = slices.DeleteFunc(slices.Clone(cfg.Workloads), func(w meridian.Workload) bool { return slices.Contains(names, w.Name) })
	if len(cfg.Workloads) == 0 {
		return 0, nil
	}
	in.Config = &cfg
	plan, err := p.planWith(ctx, in, MinSizer{})
	if err != nil {
		return 0, fmt.Errorf("simulate: plan the other workloads alone: %w", err)
	}
	var c meridian.Money
	for _, pl := range plan.Placements {
		c += pl.MonthlyCost - pl.Cost.Migration
	}
	return c, nil
}

// fixedSizer sizes the named workloads as given and the rest at
// replicas.min.
type fixedSizer map[string]meridian.Sizing

func (f fixedSizer) Size(ctx context.Context, in *Input, w *meridian.Workload) (meridian.Sizing, []meridian.Finding) {
	if s, ok := f[w.Name]; ok {
		return s, nil
	}
	return MinSizer{}.Size(ctx, in, w)
}

// planWith plans with a different sizer, leaving p untouched.
func (p *Planner) planWith(ctx context.Context, in Input, s Sizer) (*meridian.Plan, error) {
	q := *p
	q.sizer = s
	return q.Plan(ctx, in)
}
