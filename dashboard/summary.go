package dashboard

import (
	"sort"
	"strings"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/history"
)

// Row is one (workload, target) placement of a plan, with what the filters
// and the placements table need.
type Row struct {
	Workload     string
	Target       string
	Team         string
	Provider     string
	Jurisdiction string
	Replicas     int
	MonthlyCost  meridian.Money
	Reason       string
	// RunnerUp is empty when no other compliant target had room.
	RunnerUp      string
	RunnerUpExtra meridian.Money
	// Rejected groups the targets that fail a deny rule by rule and
	// reason.
	Rejected []meridian.RejectionGroup
	Blocked  bool
}

// TargetUse is what a plan places on one target.
type TargetUse struct {
	Target      string
	VCPU        float64
	MemoryGiB   float64
	MonthlyCost meridian.Money
	Placements  int
}

// Summary is the aggregate of one plan, built once per plan ID by Build.
// It must not be modified after Build: it is shared by every request.
type Summary struct {
	PlanID string
	Commit string
	// Total is the plan's total monthly cost, the figure /api/v1/costs
	// reports.
	Total    meridian.Money
	Currency string
	// By is the plan's cost along every dimension (history.Breakdown).
	By map[meridian.CostDimension]map[string]meridian.Money
	// RunnerUpSaving is what placing every workload on its runner-up
	// would cost more per month: the sum of the plan's runner-up extra
	// costs, over the RunnerUpPlacements placements that have one.
	RunnerUpSaving     meridian.Money
	RunnerUpPlacements int
	// StaticSaving is what static peak provisioning would cost more per
	// month on the same placements: each placement's compute scaled from
	// the replicas the forecast sized to those the history's peak plus
	// headroom needs (Sizing.StaticPeakReplicas), over the StaticWorkloads
	// workloads sized from load history. Storage and egress do not scale
	// with replicas and are left out.
	StaticSaving    meridian.Money
	StaticWorkloads int
	Workloads       int
	// Blocked counts workloads held by a deny finding, Unplaceable those
	// no target could host, Frozen those a Terraform target freezes.
	Blocked     int
	Unplaceable int
	Frozen      int
	// Deny and Warn count the plan's findings about the config; LiveDeny
	// and LiveWarn those about live resources that a server's plan is
	// given by its audits (Source live, docs/audit.md).
	Deny, Warn         int
	LiveDeny, LiveWarn int

	rows       []Row
	byWorkload map[string][]int
	byTarget   map[string]*TargetUse
	rowsOn     map[string][]int
	config     map[string]meridian.Target
	teams      []string
	providers  []string
	targets    []string
	jurs       []string
}

// Build aggregates plan p made from cfg. cfg gives teams, providers and
// jurisdictions; a cfg without targets leaves providers history.Unknown.
func Build(p *meridian.Plan, cfg *meridian.Config) *Summary {
	if cfg == nil {
		cfg = &meridian.Config{}
	}
	s := &Summary{PlanID: p.ID, Commit: p.Commit, Total: p.TotalMonthlyCost, Currency: p.Currency,
		Unplaceable: len(p.Unplaceable), byWorkload: map[string][]int{}, byTarget: map[string]*TargetUse{},
		rowsOn: map[string][]int{}, config: map[string]meridian.Target{}}
	for _, t := range cfg.Targets {
		s.config[t.Name] = t
	}
	_, s.By = history.Breakdown(cfg, p.Placements)
	teams := history.Teams(cfg)
	workloads := make(map[string]*meridian.Workload, len(cfg.Workloads))
	for i := range cfg.Workloads {
		workloads[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	blocked, static := map[string]bool{}, map[string]bool{}
	s.rows = make([]Row, 0, len(p.Placements))
	for _, pl := range p.Placements {
		r := Row{Workload: pl.Workload, Target: pl.Target, Team: teams[pl.Workload], Provider: history.Unknown,
			Replicas: pl.Replicas, MonthlyCost: pl.MonthlyCost, Reason: pl.Explanation.Reason, Rejected: pl.Explanation.Rejected, Blocked: pl.Blocked}
		if r.Team == "" {
			r.Team = history.Unowned
		}
		if t, ok := cfg.Target(pl.Target); ok {
			r.Provider, r.Jurisdiction = string(t.Provider), t.Jurisdiction
		}
		if ru := pl.Explanation.RunnerUp; ru != nil {
			r.RunnerUp, r.RunnerUpExtra = ru.Target, ru.ExtraCost
			s.RunnerUpSaving += ru.ExtraCost
			s.RunnerUpPlacements++
		}
		if sz := pl.Explanation.Sizing; sz != nil && sz.StaticPeakReplicas > 0 && sz.Replicas > 0 {
			s.StaticSaving += pl.Cost.Compute * meridian.Money(float64(sz.StaticPeakReplicas-sz.Replicas)/float64(sz.Replicas))
			static[pl.Workload] = true
		}
		if pl.Blocked {
			blocked[pl.Workload] = true
		}
		s.byWorkload[pl.Workload] = append(s.byWorkload[pl.Workload], len(s.rows))
		s.rowsOn[pl.Target] = append(s.rowsOn[pl.Target], len(s.rows))
		u := s.byTarget[pl.Target]
		if u == nil {
			u = &TargetUse{Target: pl.Target}
			s.byTarget[pl.Target] = u
		}
		if w, ok := workloads[pl.Workload]; ok {
			u.VCPU += float64(pl.Replicas) * w.PerReplica.VCPU
			u.MemoryGiB += float64(pl.Replicas) * w.PerReplica.MemoryGiB
		}
		u.MonthlyCost += pl.MonthlyCost
		u.Placements++
		s.rows = append(s.rows, r)
	}
	s.Workloads, s.Blocked, s.StaticWorkloads = len(s.byWorkload), len(blocked), len(static)
	frozen := map[string]bool{}
	for _, c := range p.Terraform {
		for _, f := range c.Frozen {
			frozen[f.Workload] = true
		}
	}
	s.Frozen = len(frozen)
	for _, f := range p.Findings {
		deny, warn := &s.Deny, &s.Warn
		if f.Source == meridian.FindingSourceLive {
			deny, warn = &s.LiveDeny, &s.LiveWarn
		}
		switch f.Severity {
		case meridian.SeverityDeny:
			*deny++
		case meridian.SeverityWarn:
			*warn++
		}
	}
	s.teams, s.providers, s.targets, s.jurs = distinct(s.rows, func(r Row) string { return r.Team }),
		distinct(s.rows, func(r Row) string { return r.Provider }), distinct(s.rows, func(r Row) string { return r.Target }),
		distinct(s.rows, func(r Row) string { return r.Jurisdiction })
	return s
}

func distinct(rows []Row, key func(Row) string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		if k := key(r); k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Options lists the values each placements filter can take, sorted.
func (s *Summary) Options() (teams, providers, targets, jurisdictions []string) {
	return s.teams, s.providers, s.targets, s.jurs
}

// WorkloadRows returns the placements of one workload, in plan order.
func (s *Summary) WorkloadRows(name string) []Row {
	idx := s.byWorkload[name]
	out := make([]Row, len(idx))
	for i, j := range idx {
		out[i] = s.rows[j]
	}
	return out
}

// TargetUse returns what the plan places on target, and whether it places
// anything there.
func (s *Summary) TargetUse(target string) (TargetUse, bool) {
	u, ok := s.byTarget[target]
	if !ok {
		return TargetUse{Target: target}, false
	}
	return *u, true
}

// Target returns a target's config, when the config the plan was built
// with has it.
func (s *Summary) Target(name string) (meridian.Target, bool) {
	t, ok := s.config[name]
	return t, ok
}

// TargetRows returns the placements on one target, by workload name.
func (s *Summary) TargetRows(target string) []Row {
	out := make([]Row, 0, len(s.rowsOn[target]))
	for _, i := range s.rowsOn[target] {
		out = append(out, s.rows[i])
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Workload, out[j].Workload) < 0 })
	return out
}

// Amount is one value of a cost dimension.
type Amount struct {
	Key    string
	Amount meridian.Money
}

// Sorted returns a dimension's values, most expensive first, at most n of
// them (n <= 0: all); the rest are summed into a last "other" entry, so
// that the list still sums to the total.
func Sorted(values map[string]meridian.Money, n int) []Amount {
	out := make([]Amount, 0, len(values))
	for k, v := range values {
		out = append(out, Amount{Key: k, Amount: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if a, b := out[i].Amount.Round(), out[j].Amount.Round(); a != b {
			return a > b
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		var rest meridian.Money
		for _, a := range out[n:] {
			rest += a.Amount
		}
		out = append(out[:n:n], Amount{Key: "other", Amount: rest})
	}
	return out
}
