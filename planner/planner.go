package planner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/policies"
	"github.com/meridianhq/meridian/providers"
	"github.com/meridianhq/meridian/scheduler"
	"github.com/meridianhq/meridian/telemetry"
)

// Planner turns config into plans. The zero value is not usable; call New.
type Planner struct {
	catalog   *providers.Catalog
	logger    *slog.Logger
	sizer     Sizer
	terraform TerraformPlanner
	deploy    DeployPreviewer
	tracer    trace.Tracer
}

// Option configures a Planner.
type Option func(*Planner)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(p *Planner) { p.logger = l } }

// WithCatalog replaces the embedded price catalog.
func WithCatalog(c *providers.Catalog) Option { return func(p *Planner) { p.catalog = c } }

// WithSizer sets how replicas are chosen (default: ForecastSizer).
func WithSizer(s Sizer) Option { return func(p *Planner) { p.sizer = s } }

// New returns a Planner with the embedded catalog.
func New(opts ...Option) (*Planner, error) {
	p := &Planner{logger: slog.New(slog.DiscardHandler), sizer: ForecastSizer{}, tracer: telemetry.Tracer(nil, "planner")}
	for _, o := range opts {
		o(p)
	}
	if p.catalog == nil {
		c, err := providers.DefaultCatalog()
		if err != nil {
			return nil, fmt.Errorf("load price catalog: %w", err)
		}
		p.catalog = c
	}
	return p, nil
}

// catalogFor returns the catalog cfg prices with: the file its
// pricing.catalog names (read by the config loader), else the planner's.
func (p *Planner) catalogFor(cfg *meridian.Config) (*providers.Catalog, error) {
	return providers.ForConfig(cfg, p.catalog)
}

// Input is everything a plan depends on.
type Input struct {
	Config *meridian.Config
	// FS is the config root, for load history files.
	FS     fs.FS
	Repo   string
	Commit string
	Dirty  bool
	// Current is the applied-state ledger: workload -> targets it runs on.
	Current map[string][]string
	// Live are findings about what really runs (inventory.Audit, Source
	// live). They join the plan's findings, so that a blocking one freezes
	// its workload as any blocking finding does, and they are part of the
	// plan's ID.
	Live []meridian.Finding
}

// Sizer chooses each workload's desired replica count.
type Sizer interface {
	// Size returns the desired replicas and how they were chosen, plus any
	// findings (e.g. unusable load history). It must not fail the plan for
	// one workload's bad data.
	Size(ctx context.Context, in *Input, w *meridian.Workload) (meridian.Sizing, []meridian.Finding)
}

// MinSizer sizes every workload at replicas.min.
type MinSizer struct{}

// Size implements Sizer.
func (MinSizer) Size(_ context.Context, _ *Input, w *meridian.Workload) (meridian.Sizing, []meridian.Finding) {
	return meridian.Sizing{Method: "replicas.min", Replicas: w.Replicas.Min}, nil
}

// Plan runs every stage and returns the plan. Errors are reserved for
// problems that make a plan meaningless (invalid org policies, unpriceable
// targets); everything else becomes a finding.
func (p *Planner) Plan(ctx context.Context, in Input) (_ *meridian.Plan, err error) {
	cfg := in.Config
	start := time.Now()
	tm, lap := timingsFrom(ctx), stopwatch()
	ctx, span := p.tracer.Start(ctx, "plan", trace.WithAttributes(attribute.String("meridian.repo", in.Repo),
		attribute.String("meridian.commit", in.Commit), attribute.Int("meridian.workloads", len(cfg.Workloads)),
		attribute.Int("meridian.targets", len(cfg.Targets))))
	st := &stages{tracer: p.tracer, ctx: ctx}
	defer func() {
		st.end(err)
		telemetry.End(span, err)
	}()
	sctx := st.next("policy")
	engine, err := policies.New(sctx, cfg.Settings, cfg.Policies)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	findings, matrix, err := engine.Check(sctx, cfg.Workloads, cfg.Targets)
	if err != nil {
		return nil, fmt.Errorf("check policies: %w", err)
	}
	p.logger.DebugContext(ctx, "policies evaluated", "workloads", len(cfg.Workloads), "targets", len(cfg.Targets), "elapsed", time.Since(start))
	tm.Policy = lap()

	sctx = st.next("forecast")
	catalog, err := p.catalogFor(cfg)
	if err != nil {
		return nil, err
	}
	rates := make([]meridian.Rates, len(cfg.Targets))
	for i := range cfg.Targets {
		r, err := providers.Resolve(catalog, &cfg.Targets[i])
		if err != nil {
			return nil, fmt.Errorf("price targets: %w", err)
		}
		rates[i] = r
	}

	sizing, replicas, sizeFindings := p.size(sctx, &in)
	findings = append(findings, sizeFindings...)
	tm.Forecast = lap()

	deny := denyOnly(matrix)
	sctx = st.next("solve")
	res, err := scheduler.SolveJoint(sctx, &scheduler.Problem{
		Workloads:  cfg.Workloads,
		Targets:    cfg.Targets,
		Rates:      rates,
		Replicas:   replicas,
		Violations: deny,
		Current:    in.Current,
		Settings:   cfg.Settings.Placement,
	})
	if err != nil {
		return nil, fmt.Errorf("place workloads: %w", err)
	}
	tm.Solve = res.Timings.Build + res.Timings.Search
	lap()
	sctx = st.next("explain")
	findings = append(findings, placementFindings(cfg, matrix, res.Placements, in.Current)...)
	// Flows between workloads are judged where both ends landed
	// (MER-NET-003 and org rules that read input.peer).
	landed := meridian.LandedPlacements(&meridian.Plan{Placements: res.Placements, Unplaceable: res.Unplaceable, Current: in.Current}, nil)
	peerFindings, err := engine.CheckPeers(sctx, cfg.Workloads, cfg.Targets, landed)
	if err != nil {
		return nil, fmt.Errorf("check flows between placed workloads: %w", err)
	}
	findings = append(findings, peerFindings...)
	findings = append(findings, in.Live...)
	sortFindings(findings)

	plan := &meridian.Plan{
		Repo:        in.Repo,
		Commit:      in.Commit,
		Dirty:       in.Dirty,
		Currency:    cfg.Settings.Currency,
		Placements:  res.Placements,
		Unplaceable: res.Unplaceable,
		Findings:    findings,
		Solver:      res.Stats,
		Catalog:     catalog.Provenance(),
		Current:     ledgerCopy(in.Current),
	}
	plan.SchemaVersion = meridian.PlanSchemaVersion
	if plan.Unplaceable == nil {
		plan.Unplaceable = []meridian.Unplaceable{}
	}
	if plan.Findings == nil {
		plan.Findings = []meridian.Finding{}
	}
	blocked := map[string]bool{}
	for _, f := range findings {
		if f.Blocking() && f.Workload != "" {
			blocked[f.Workload] = true
		}
	}
	idx := make(map[string]int, len(cfg.Workloads))
	for i, w := range cfg.Workloads {
		idx[w.Name] = i
	}
	var total meridian.Money
	for i := range plan.Placements {
		pl := &plan.Placements[i]
		pl.Blocked = blocked[pl.Workload]
		s := sizing[idx[pl.Workload]]
		pl.Explanation.Sizing = &s
		// The total is the sum of the lines at the cent, as every output
		// shows them: the CLI, the API, the cost history and the dashboard
		// then all add up to the same figure.
		total += pl.MonthlyCost.Round()
	}
	plan.TotalMonthlyCost = total
	for i := range plan.Unplaceable {
		s := sizing[idx[plan.Unplaceable[i].Workload]]
		plan.Unplaceable[i].Sizing = &s
	}
	id, err := planID(in, plan.Catalog, sizing)
	if err != nil {
		return nil, err
	}
	plan.ID, plan.InputsDigest = id, id
	tm.Explain = res.Timings.Explain + lap()
	if err := p.planTerraform(st.next("terraform"), &in, plan); err != nil {
		return nil, err
	}
	tm.Terraform = lap()
	p.previewDeploy(st.next("deploy"), &in, plan)
	tm.Deploy = lap()
	st.end(nil)
	span.SetAttributes(attribute.String("meridian.plan", plan.ID), attribute.Int("meridian.findings", len(plan.Findings)),
		attribute.Int("meridian.unplaceable", len(plan.Unplaceable)))
	destroyPlan(cfg, in.Current, plan)
	p.logger.InfoContext(ctx, "planned", "plan", plan.ID, "commit", plan.Commit, "placements", len(plan.Placements),
		"unplaceable", len(plan.Unplaceable), "findings", len(plan.Findings), "total_monthly_cost", float64(total.Round()),
		"gap_percent", plan.Solver.GapPercent, "elapsed", time.Since(start))
	return plan, nil
}

// ledgerCopy is the ledger as the plan records it: a copy, each workload's
// targets sorted; nil when empty.
func ledgerCopy(current map[string][]string) map[string][]string {
	if len(current) == 0 {
		return nil
	}
	out := make(map[string][]string, len(current))
	for w, ts := range current {
		out[w] = slices.Sorted(slices.Values(ts))
	}
	return out
}

// size sizes every workload, in parallel: forecasting is the one stage
// whose cost grows with history length, not just with workload count.
func (p *Planner) size(ctx context.Context, in *Input) ([]meridian.Sizing, []int, []meridian.Finding) {
	ws := in.Config.Workloads
	sizing := make([]meridian.Sizing, len(ws))
	found := make([][]meridian.Finding, len(ws))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(ws)) {
		wg.Go(func() {
			for i := range next {
				sizing[i], found[i] = p.sizer.Size(ctx, in, &ws[i])
			}
		})
	}
	for i := range ws {
		next <- i
	}
	close(next)
	wg.Wait()
	replicas := make([]int, len(ws))
	var findings []meridian.Finding
	for i := range ws {
		replicas[i] = sizing[i].Replicas
		findings = append(findings, found[i]...)
	}
	return sizing, replicas, findings
}

// denyOnly keeps the violations that make a target non-compliant.
func denyOnly(m [][][]meridian.Violation) [][][]meridian.Violation {
	out := make([][][]meridian.Violation, len(m))
	for w := range m {
		out[w] = make([][]meridian.Violation, len(m[w]))
		for t, vs := range m[w] {
			for _, v := range vs {
				if v.Severity == meridian.SeverityDeny {
					out[w][t] = append(out[w][t], v)
				}
			}
		}
	}
	return out
}

// placementFindings turns placement violations into findings where the user
// must act: on the chosen target (a pin overrides policy, and warn/info
// rules never reject), and on the target the workload currently runs on.
// Violations on targets that were merely not chosen stay in explanations.
func placementFindings(cfg *meridian.Config, m [][][]meridian.Violation, placements []meridian.Placement, current map[string][]string) []meridian.Finding {
	wi := map[string]int{}
	for i, w := range cfg.Workloads {
		wi[w.Name] = i
	}
	ti := map[string]int{}
	for i, t := range cfg.Targets {
		ti[t.Name] = i
	}
	type key struct{ w, t int }
	seen := map[key]bool{}
	var out []meridian.Finding
	emit := func(w, t int, why string) {
		if seen[key{w, t}] || w >= len(m) || t >= len(m[w]) {
			return
		}
		seen[key{w, t}] = true
		for _, v := range m[w][t] {
			f := policies.PlacementFinding(v, &cfg.Workloads[w], &cfg.Targets[t])
			if why != "" && v.Severity == meridian.SeverityDeny {
				f.Message = fmt.Sprintf("%s (%s)", f.Message, why)
			}
			out = append(out, f)
		}
	}
	for _, pl := range placements {
		w, t := wi[pl.Workload], ti[pl.Target]
		why := "chosen target"
		if cfg.Workloads[w].Pin == pl.Target {
			why = "pinned target"
		}
		emit(w, t, why)
	}
	for name, targets := range current {
		w, ok := wi[name]
		if !ok {
			continue
		}
		for _, tn := range targets {
			if t, ok := ti[tn]; ok {
				emit(w, t, "currently applied target")
			}
		}
	}
	return out
}

func sortFindings(fs []meridian.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Workload != b.Workload {
			return a.Workload < b.Workload
		}
		return a.Target < b.Target
	})
}

// liveFindings returns the findings of a plan that came from its
// Input.Live.
func liveFindings(fs []meridian.Finding) []meridian.Finding {
	return slices.DeleteFunc(slices.Clone(fs), func(f meridian.Finding) bool { return f.Source != meridian.FindingSourceLive })
}

// planID derives the plan's identity from its inputs: the same commit,
// config, ledger, catalog and sizing always give the same ID, and any
// change to them gives another. Sizing stands in for the load history,
// which the config does not hold: an edited CSV in a dirty tree, or new
// Prometheus data, changes the replicas and so the plan.
func planID(in Input, catalog string, sizing []meridian.Sizing) (string, error) {
	h := sha256.New()
	enc := json.NewEncoder(h)
	current := make([]string, 0, len(in.Current))
	for w, ts := range in.Current {
		ts = append([]string(nil), ts...)
		sort.Strings(ts)
		b, _ := json.Marshal(ts)
		current = append(current, w+"="+string(b))
	}
	sort.Strings(current)
	if err := enc.Encode(struct {
		Commit  string
		Dirty   bool
		Config  *meridian.Config
		Current []string
		Catalog string
		Sizing  []meridian.Sizing
	}{in.Commit, in.Dirty, in.Config, current, catalog, sizing}); err != nil {
		return "", fmt.Errorf("hash plan inputs: %w", err)
	}
	// Only plans given live findings hash them, so that every other plan
	// keeps the ID it always had. They are hashed in a canonical order:
	// Explain recovers them from the plan's findings (liveFindings), where
	// they are sorted among the others.
	if len(in.Live) > 0 {
		live := make([]string, len(in.Live))
		for i, f := range in.Live {
			b, err := json.Marshal(f)
			if err != nil {
				return "", fmt.Errorf("hash plan inputs: %w", err)
			}
			live[i] = string(b)
		}
		sort.Strings(live)
		if err := enc.Encode(live); err != nil {
			return "", fmt.Errorf("hash plan inputs: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
