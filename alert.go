package meridian

import "time"

// AlertSource says what raised an alert.
type AlertSource string

// Alert sources. Findings, drift and failed applies come from the events of
// the same names; the others are conditions the control plane watches
// (ConditionRecord).
const (
	AlertSourceFinding     AlertSource = "finding"
	AlertSourceDrift       AlertSource = "drift"
	AlertSourceApply       AlertSource = "apply"
	AlertSourceFrozen      AlertSource = "frozen"
	AlertSourceUnplaceable AlertSource = "unplaceable"
	AlertSourceLock        AlertSource = "lock"
	AlertSourceSite        AlertSource = "site"
	AlertSourceCapacity    AlertSource = "capacity"
	AlertSourceTest        AlertSource = "test"
)

// Valid reports whether s is a known alert source.
func (s AlertSource) Valid() bool {
	switch s {
	case AlertSourceFinding, AlertSourceDrift, AlertSourceApply, AlertSourceFrozen, AlertSourceUnplaceable,
		AlertSourceLock, AlertSourceSite, AlertSourceCapacity, AlertSourceTest:
		return true
	}
	return false
}

// AlertState is where an alert is in its lifecycle.
type AlertState string

// Alert states.
const (
	AlertFiring   AlertState = "firing"
	AlertResolved AlertState = "resolved"
	// AlertSilenced is an alert whose cause lasts but that a waiver or a
	// silence keeps quiet.
	AlertSilenced AlertState = "silenced"
)

// Valid reports whether s is a known alert state.
func (s AlertState) Valid() bool {
	return s == AlertFiring || s == AlertResolved || s == AlertSilenced
}

// Alert is one alert: one cause (a finding, a drift record, a failed
// apply, a condition) on one target. A workload-level finding raises one
// alert per target its workload runs on, or one with Target "none" when it
// runs nowhere.
type Alert struct {
	// ID is the alert's identity: its repo, Fingerprint and Target
	// together (the same finding in two repos is two alerts). It is stable
	// across restarts, so that an alert fires once.
	ID string `json:"id"`
	// Fingerprint is that of the finding, drift record or condition.
	Fingerprint string      `json:"fingerprint"`
	RepoID      string      `json:"repo_id"`
	Branch      string      `json:"branch,omitempty"`
	Source      AlertSource `json:"source"`
	// Name is the rule ID (MER-TAG-001) or the kind (drift, apply_failed,
	// frozen, unplaceable, lock_held, site_behind, site_failing, site_stale,
	// capacity_ahead).
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Workload string   `json:"workload,omitempty"`
	// Target is never empty: "none" when the cause is on no target.
	Target string `json:"target"`
	// Team is the workload's team tag, else its owner tag, else
	// "unowned".
	Team        string `json:"team"`
	Owner       string `json:"owner,omitempty"`
	Summary     string `json:"summary"`
	Remediation string `json:"remediation,omitempty"`
	File        string `json:"file,omitempty"`
	Line        int    `json:"line,omitempty"`
	Commit      string `json:"commit,omitempty"`
	// URL links to the dashboard's page for the cause, when a base URL is
	// configured.
	URL string `json:"url,omitempty"`
	// Frozen says, for each target, the replicas a frozen workload is held
	// at until its finding is fixed.
	Frozen []Frozen   `json:"frozen,omitempty"`
	State  AlertState `json:"state"`
	// StartsAt is when the cause was first seen; it never changes while
	// the alert lasts. EndsAt is set once it is resolved.
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at,omitzero"`
}

// AlertTarget is the Target of an alert whose cause is on no target.
const AlertTarget = "none"

// Unowned is the Team of an alert whose workload has neither a team nor
// an owner tag.
const Unowned = "unowned"

// Silence keeps matching alerts quiet until it ends. Empty matchers match
// everything; a silence needs at least one matcher.
type Silence struct {
	ID        string    `json:"id"`
	RepoID    string    `json:"repo_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Workload  string    `json:"workload,omitempty"`
	Target    string    `json:"target,omitempty"`
	Team      string    `json:"team,omitempty"`
	Severity  Severity  `json:"severity,omitempty"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	// ExpiredAt is set when an operator ended the silence early.
	ExpiredAt time.Time `json:"expired_at,omitzero"`
}

// Matches reports whether s silences a at time now.
func (s Silence) Matches(a Alert, now time.Time) bool {
	if now.Before(s.StartsAt) || !now.Before(s.EndsAt) || (!s.ExpiredAt.IsZero() && !now.Before(s.ExpiredAt)) {
		return false
	}
	if s.RepoID != "" && s.RepoID != a.RepoID {
		return false
	}
	if s.Name == "" && s.Workload == "" && s.Target == "" && s.Team == "" && s.Severity == "" {
		return false
	}
	return (s.Name == "" || s.Name == a.Name) && (s.Workload == "" || s.Workload == a.Workload) &&
		(s.Target == "" || s.Target == a.Target) && (s.Team == "" || s.Team == a.Team) &&
		(s.Severity == "" || s.Severity == a.Severity)
}

// ConditionRecord is a watched condition that is neither a finding nor
// drift (a frozen or unplaceable workload, a lock held too long, a site
// behind on policy, capacity about to run out): open from the first check
// that saw it until the first that no longer does, like a DriftRecord.
type ConditionRecord struct {
	RepoID string      `json:"repo_id"`
	Branch string      `json:"branch,omitempty"`
	Source AlertSource `json:"source"`
	// Fingerprint identifies the condition within the repo: the same cause
	// seen by the next check has the same fingerprint.
	Fingerprint string    `json:"fingerprint"`
	Name        string    `json:"name"`
	Severity    Severity  `json:"severity"`
	Workload    string    `json:"workload,omitempty"`
	Target      string    `json:"target,omitempty"`
	Team        string    `json:"team,omitempty"`
	Summary     string    `json:"summary"`
	Remediation string    `json:"remediation,omitempty"`
	File        string    `json:"file,omitempty"`
	Line        int       `json:"line,omitempty"`
	Commit      string    `json:"commit,omitempty"`
	Frozen      []Frozen  `json:"frozen,omitempty"`
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	ClearedAt   time.Time `json:"cleared_at,omitzero"`
}
