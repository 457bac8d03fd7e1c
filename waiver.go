package meridian

import "time"

// KindWaiver is the kind of a waiver document (waivers/*.yaml).
const KindWaiver = "Waiver"

// MaxWaiverYears bounds how far away a waiver's expiry may be: a waiver
// is a debt with a due date, never a permanent exception.
const MaxWaiverYears = 1

// Waiver silences the findings of one rule on a workload and/or a target
// until its expiry date. A waived finding is kept and shown as waived.
type Waiver struct {
	Rule string `json:"rule"`
	// Workload and Target narrow the waiver; at least one is set, and an
	// empty one matches any value.
	Workload string `json:"workload,omitempty"`
	Target   string `json:"target,omitempty"`
	Reason   string `json:"reason"`
	Owner    string `json:"owner"`
	// Expires is the last day (UTC midnight) on which the waiver holds.
	Expires time.Time `json:"expires"`
	Origin  Origin    `json:"-"`
}

// Matches reports whether the waiver names the finding's rule and subject.
func (w Waiver) Matches(f Finding) bool {
	return w.Rule == f.Rule &&
		(w.Workload == "" || w.Workload == f.Workload) &&
		(w.Target == "" || w.Target == f.Target)
}

// Expired reports whether the waiver no longer holds at now: it holds
// through the whole of its expiry day, in UTC.
func (w Waiver) Expired(now time.Time) bool {
	return !now.UTC().Before(w.Expires.AddDate(0, 0, 1))
}

// ExpiryDate is the expiry day as YYYY-MM-DD.
func (w Waiver) ExpiryDate() string { return w.Expires.Format(time.DateOnly) }

// PlacementRule reports whether the built-in rule id decides placement
// (where a workload may run) and what it protects. Such a finding means the
// data would sit somewhere it must not: it can only be fixed, never waived.
// This is the one list of those rules; policies/builtin/placement holds
// their Rego, and a test keeps both in step.
func PlacementRule(id string) (protects string, ok bool) {
	switch id {
	case "MER-ENC-001":
		return "encryption", true
	case "MER-JUR-001":
		return "jurisdiction", true
	case "MER-DATA-001":
		return "restricted data", true
	case "MER-RET-001":
		return "log retention", true
	case "MER-NET-001", "MER-NET-002", "MER-NET-003":
		return "network isolation", true
	}
	return "", false
}
