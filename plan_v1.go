package meridian

import (
	"encoding/json"
	"strings"
)

// rejectedEntry decodes an element of explanation.rejected or
// unplaceable[].targets in either schema version: a RejectionGroup
// (version 2), or one target with all its rules and reasons (version 1).
type rejectedEntry struct {
	RejectionGroup
	Target  string   `json:"target"`
	Rules   []string `json:"rules"`
	Reasons []string `json:"reasons"`
}

// UnmarshalJSON reads a plan document of either schema version, so that
// plans stored before version 2 still load: their per-target rejections
// are regrouped by rule and reason (see regroupV1). A version 2 document
// is decoded once, as it is; only a version 1 document pays a second
// pass for its rejections.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	if p.SchemaVersion >= 2 {
		return nil
	}
	var v1 struct {
		Placements []struct {
			Explanation struct {
				Rejected []rejectedEntry `json:"rejected"`
			} `json:"explanation"`
		} `json:"placements"`
		Unplaceable []struct {
			Targets []rejectedEntry `json:"targets"`
		} `json:"unplaceable"`
	}
	if err := json.Unmarshal(b, &v1); err != nil {
		return err
	}
	for i := range p.Placements {
		e := &p.Placements[i].Explanation
		var n int
		e.Rejected, n = regroupV1(v1.Placements[i].Explanation.Rejected)
		if n > 0 {
			e.RejectedCount = n
		}
		// Version 1 listed every capacity-blocked target and had no count.
		e.CapacityBlockedCount = max(e.CapacityBlockedCount, len(e.CapacityBlocked))
	}
	for i := range p.Unplaceable {
		p.Unplaceable[i].Targets, _ = regroupV1(v1.Unplaceable[i].Targets)
	}
	return nil
}

// regroupV1 returns the groups of es. Version 1 entries (one per target)
// are grouped by rule and reason, naming the first NearestTargets targets
// by name, as version 1 recorded no costs to find the nearest by; n is
// the number of version 1 entries. A version 1 entry lists its rules and
// its distinct reasons apart: they pair up when there are as many of
// each, and otherwise every rule gets all the reasons.
func regroupV1(es []rejectedEntry) (groups []RejectionGroup, n int) {
	if es == nil {
		return nil, 0
	}
	groups = make([]RejectionGroup, 0, len(es))
	type key struct{ rule, reason string }
	at := map[key]int{}
	for _, e := range es {
		if e.Target == "" {
			groups = append(groups, e.RejectionGroup)
			continue
		}
		n++
		for k, rule := range e.Rules {
			reason := strings.Join(e.Reasons, "; ")
			if len(e.Reasons) == len(e.Rules) {
				reason = e.Reasons[k]
			}
			i, ok := at[key{rule, reason}]
			if !ok {
				i = len(groups)
				at[key{rule, reason}] = i
				groups = append(groups, RejectionGroup{Rule: rule, Reason: reason, Nearest: []string{}})
			}
			g := &groups[i]
			g.Count++
			if len(g.Nearest) < NearestTargets {
				g.Nearest = append(g.Nearest, e.Target)
			}
		}
	}
	return groups, n
}
