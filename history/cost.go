package history

import "github.com/meridianhq/meridian"

// Values that stand in for a missing tag or an unknown target, so that a
// dimension's values always sum to the total.
const (
	Unowned = "unowned"
	Unset   = "unset"
	Unknown = "unknown"
)

// Team is a workload's team: its team tag, else its owner tag, else
// Unowned.
func Team(tags map[string]string) string {
	for _, k := range []string{"team", "owner"} {
		if v := tags[k]; v != "" {
			return v
		}
	}
	return Unowned
}

// Teams maps every workload of cfg to its team.
func Teams(cfg *meridian.Config) map[string]string {
	out := make(map[string]string, len(cfg.Workloads))
	for _, w := range cfg.Workloads {
		out[w.Name] = Team(w.Tags)
	}
	return out
}

// Breakdown sums placements' monthly cost along every dimension: target,
// provider (from cfg's targets; Unknown for a target cfg no longer has),
// team (see Team), cost-center and env (the workload's tags; Unset when
// missing). Each dimension's values sum to the total.
func Breakdown(cfg *meridian.Config, placements []meridian.Placement) (meridian.Money, map[meridian.CostDimension]map[string]meridian.Money) {
	workloads := make(map[string]*meridian.Workload, len(cfg.Workloads))
	for i := range cfg.Workloads {
		workloads[cfg.Workloads[i].Name] = &cfg.Workloads[i]
	}
	by := map[meridian.CostDimension]map[string]meridian.Money{}
	for _, d := range meridian.CostDimensions() {
		by[d] = map[string]meridian.Money{}
	}
	var total meridian.Money
	for _, p := range placements {
		// Each placement counts at the cent, as every output shows it and
		// as a saved plan document keeps it: a plan read back from the
		// store then gives the same figures as the plan that was made.
		p.MonthlyCost = p.MonthlyCost.Round()
		provider := Unknown
		if t, ok := cfg.Target(p.Target); ok {
			provider = string(t.Provider)
		}
		var tags map[string]string
		if w, ok := workloads[p.Workload]; ok {
			tags = w.Tags
		}
		total += p.MonthlyCost
		by[meridian.CostByTarget][p.Target] += p.MonthlyCost
		by[meridian.CostByProvider][provider] += p.MonthlyCost
		by[meridian.CostByTeam][Team(tags)] += p.MonthlyCost
		by[meridian.CostByCostCenter][tagOr(tags, "cost-center")] += p.MonthlyCost
		by[meridian.CostByEnv][tagOr(tags, "env")] += p.MonthlyCost
	}
	return total, by
}

func tagOr(tags map[string]string, k string) string {
	if v := tags[k]; v != "" {
		return v
	}
	return Unset
}

// PlanCost is the cost point of a plan (kind planned) or of the plan an
// apply ran (kind applied). The caller sets RepoID, Branch and Time.
func PlanCost(cfg *meridian.Config, p *meridian.Plan, kind meridian.CostKind) meridian.CostPoint {
	total, by := Breakdown(cfg, p.Placements)
	return meridian.CostPoint{Kind: kind, PlanID: p.ID, Commit: p.Commit, Total: total, By: by}
}
