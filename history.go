package meridian

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// EventType names what happened in an Event.
type EventType string

// Event types of the control plane's event feed.
const (
	EventPlanCreated          EventType = "plan.created"
	EventApplyStarted         EventType = "apply.started"
	EventApplySucceeded       EventType = "apply.succeeded"
	EventApplyFailed          EventType = "apply.failed"
	EventDriftOpened          EventType = "drift.opened"
	EventDriftCleared         EventType = "drift.cleared"
	EventFindingOpened        EventType = "finding.opened"
	EventFindingResolved      EventType = "finding.resolved"
	EventFindingWaived        EventType = "finding.waived"
	EventFindingWaiverExpired EventType = "finding.waiver_expired"
	EventLockAcquired         EventType = "lock.acquired"
	EventLockReleased         EventType = "lock.released"
	EventMoveStarted          EventType = "move.started"
	EventMoveCompleted        EventType = "move.completed"
	// A condition (ConditionRecord) opened or cleared.
	EventConditionOpened  EventType = "condition.opened"
	EventConditionCleared EventType = "condition.cleared"
	// An edge site's OPA agent fell behind the branch head, failed to
	// load or verify its bundle, stopped reporting, or recovered from any
	// of these (docs/edge.md).
	EventEdgeSiteBehind    EventType = "edge.site_behind"
	EventEdgeSiteFailing   EventType = "edge.site_failing"
	EventEdgeSiteStale     EventType = "edge.site_stale"
	EventEdgeSiteRecovered EventType = "edge.site_recovered"
	// An edge site lost its last live credential (`meridian edge
	// revoke`): it is assessed no more and its alerts resolve.
	EventEdgeSiteRetired EventType = "edge.site_retired"
	// `meridian serve --prices-refresh-interval` read the price APIs and
	// some rates differ from the catalog the config uses (docs/pricing.md).
	EventPricesRefreshed EventType = "prices.refreshed"
)

// Valid reports whether t is one of the event types above.
func (t EventType) Valid() bool {
	switch t {
	case EventPlanCreated, EventApplyStarted, EventApplySucceeded, EventApplyFailed,
		EventDriftOpened, EventDriftCleared,
		EventFindingOpened, EventFindingResolved, EventFindingWaived, EventFindingWaiverExpired,
		EventLockAcquired, EventLockReleased, EventMoveStarted, EventMoveCompleted,
		EventConditionOpened, EventConditionCleared,
		EventEdgeSiteBehind, EventEdgeSiteFailing, EventEdgeSiteStale, EventEdgeSiteRecovered, EventEdgeSiteRetired,
		EventPricesRefreshed:
		return true
	}
	return false
}

// Event is one entry of the append-only event log. The store assigns ID,
// strictly increasing in commit order, so that a subscriber that remembers
// the last ID it saw resumes without gaps or repeats.
type Event struct {
	ID   int64     `json:"id"`
	Type EventType `json:"type"`
	Time time.Time `json:"time"`
	// RepoID and Branch say which config repo and branch the event is about;
	// Branch is empty for events that are not per branch (locks, moves).
	RepoID string `json:"repo_id,omitempty"`
	Branch string `json:"branch,omitempty"`
	// The subject fields are set when they apply, so that a feed can be
	// filtered without decoding Payload.
	Commit      string `json:"commit,omitempty"`
	PlanID      string `json:"plan_id,omitempty"`
	RunID       string `json:"run_id,omitempty"`
	Target      string `json:"target,omitempty"`
	Workload    string `json:"workload,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Payload is a JSON object with the event's details (a finding record,
	// a drift record, a run's outcome). It must hold no secret.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// FindingState is where a finding is in its lifecycle.
type FindingState string

// Finding states.
const (
	FindingOpen     FindingState = "open"
	FindingResolved FindingState = "resolved"
	FindingWaived   FindingState = "waived"
)

// Valid reports whether s is a known finding state.
func (s FindingState) Valid() bool {
	return s == FindingOpen || s == FindingResolved || s == FindingWaived
}

// FindingRecord is the lifecycle of one finding on one branch of a config
// repo: opened by the first plan that raised it, kept open while later plans
// raise it, resolved by the first plan that no longer does.
type FindingRecord struct {
	RepoID string `json:"repo_id"`
	Branch string `json:"branch"`
	// Fingerprint is Fingerprint of the finding: the record's identity.
	Fingerprint string   `json:"fingerprint"`
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	Workload    string   `json:"workload,omitempty"`
	Target      string   `json:"target,omitempty"`
	Field       string   `json:"field,omitempty"`
	// Resource is a live finding's resource ID or ARN (Finding.Resource).
	Resource string `json:"resource,omitempty"`
	// Team is the workload's team (its team tag, else owner), for filters.
	Team string `json:"team,omitempty"`
	// Message, File, Line and Remediation are the latest raise's; they
	// may change while the fingerprint stays.
	Message     string       `json:"message"`
	File        string       `json:"file,omitempty"`
	Line        int          `json:"line,omitempty"`
	Remediation string       `json:"remediation,omitempty"`
	State       FindingState `json:"state"`
	// FirstSeen and FirstCommit are the plan that opened the record;
	// LastSeen and LastCommit the latest plan that raised it.
	FirstSeen   time.Time `json:"first_seen"`
	LastSeen    time.Time `json:"last_seen"`
	FirstCommit string    `json:"first_commit"`
	LastCommit  string    `json:"last_commit"`
	// ResolvedCommit and ResolvedAt are the plan that no longer raised it.
	ResolvedCommit string    `json:"resolved_commit,omitempty"`
	ResolvedAt     time.Time `json:"resolved_at,omitzero"`
	// Waiver is the waiver that silences the finding (State waived) or
	// that did until it expired (Waiver.Expired, State open).
	Waiver *FindingWaiver `json:"waiver,omitempty"`
	// Note says why the record is in its state in words, e.g. "waiver by
	// alice expired on 2027-03-31".
	Note string `json:"note,omitempty"`
}

// FindingWaiver is the part of a Waiver a finding record keeps.
type FindingWaiver struct {
	Reason string `json:"reason"`
	Owner  string `json:"owner"`
	// Expires is the last day the waiver silences the finding (UTC).
	Expires time.Time `json:"expires"`
	// File is the waiver's file in the config repo.
	File string `json:"file,omitempty"`
	// Expired is set once Expires has passed: the finding is open again.
	Expired bool `json:"expired,omitempty"`
}

// Fingerprint returns a finding's stable identity: the hex SHA-256 of its
// rule, workload, target and field. The file, line and message are left out
// on purpose: they move with every edit of the config, and a finding that
// moves must stay the same finding. A finding without a field (a rule about
// a whole target or workload) is identified by its rule and subject alone,
// so several raises of one such rule on one subject share a record. A live
// finding's resource is part of its identity (two buckets breaking one rule
// are two findings); findings without one keep the fingerprint they always
// had.
func Fingerprint(f Finding) string {
	h := sha256.New()
	parts := []string{f.Rule, f.Workload, f.Target, f.Field}
	if f.Resource != "" {
		parts = append(parts, f.Resource)
	}
	// Length-prefixed parts, so that no two different tuples hash alike
	// whatever characters the names hold.
	for _, s := range parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DriftEngine names who detected a drift.
type DriftEngine string

// Drift engines.
const (
	DriftEngineTerraform  DriftEngine = "terraform"
	DriftEngineDeployRepo DriftEngine = "deploy-repo"
	DriftEngineArgoCD     DriftEngine = "argocd"
	DriftEngineLive       DriftEngine = "live"
	// DriftEngineCrossplane reads back the managed resources Meridian
	// rendered for engine: crossplane targets.
	DriftEngineCrossplane DriftEngine = "crossplane"
)

// DriftEngines lists the drift engines, in the order views show them.
func DriftEngines() []DriftEngine {
	return []DriftEngine{DriftEngineTerraform, DriftEngineDeployRepo, DriftEngineArgoCD, DriftEngineCrossplane, DriftEngineLive}
}

// Valid reports whether e is a known drift engine.
func (e DriftEngine) Valid() bool { return slices.Contains(DriftEngines(), e) }

// DriftRecord is one difference between what Meridian applied and what
// runs, across drift checks: open from the first check that saw it until
// the first check that no longer does.
type DriftRecord struct {
	ID       int64       `json:"id"`
	RepoID   string      `json:"repo_id"`
	Engine   DriftEngine `json:"engine"`
	Target   string      `json:"target,omitempty"`
	Workload string      `json:"workload,omitempty"`
	// Resource is the Terraform address, deploy-repo path, Argo CD
	// Application or cluster resource.
	Resource string `json:"resource"`
	// Action is what happened to it (change, remove, missing, ...).
	Action string `json:"action,omitempty"`
	// Expected and Actual are what Meridian applied and what runs, with
	// secrets redacted by the caller before they reach the record.
	Expected  string    `json:"expected,omitempty"`
	Actual    string    `json:"actual,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ClearedAt is set once a check no longer sees the drift.
	ClearedAt time.Time `json:"cleared_at,omitzero"`
}

// Key is the record's identity within a repo: one open record per engine,
// target, workload and resource.
func (d DriftRecord) Key() string {
	return string(d.Engine) + "\x00" + d.Target + "\x00" + d.Workload + "\x00" + d.Resource
}

// CostKind says whether a cost point is what runs or what would run.
type CostKind string

// Cost kinds: applied is what runs after an apply; planned is what the
// head of the branch would cost.
const (
	CostApplied CostKind = "applied"
	CostPlanned CostKind = "planned"
)

// CostDimension is what a cost is grouped by.
type CostDimension string

// Cost dimensions.
const (
	CostByTarget     CostDimension = "target"
	CostByProvider   CostDimension = "provider"
	CostByTeam       CostDimension = "team"
	CostByCostCenter CostDimension = "cost-center"
	CostByEnv        CostDimension = "env"
)

// CostDimensions lists every dimension, in the order reports show them.
func CostDimensions() []CostDimension {
	return []CostDimension{CostByTarget, CostByProvider, CostByTeam, CostByCostCenter, CostByEnv}
}

// Valid reports whether d is a known dimension.
func (d CostDimension) Valid() bool {
	switch d {
	case CostByTarget, CostByProvider, CostByTeam, CostByCostCenter, CostByEnv:
		return true
	}
	return false
}

// CostPoint is a plan's or an apply's monthly cost at one time, broken
// down along every dimension.
type CostPoint struct {
	RepoID string    `json:"repo_id"`
	Branch string    `json:"branch,omitempty"`
	Time   time.Time `json:"time"`
	Kind   CostKind  `json:"kind"`
	PlanID string    `json:"plan_id"`
	Commit string    `json:"commit"`
	Total  Money     `json:"total"`
	// By maps a dimension to each of its values' monthly cost, e.g.
	// By["team"]["payments"]. The values of one dimension sum to Total.
	By map[CostDimension]map[string]Money `json:"by"`
}
