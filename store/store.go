package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/meridianhq/meridian"
)

// Store is everything a backend provides. Implementations must be safe for
// concurrent use by several goroutines and by several processes sharing the
// same database: the locks exclude each other across processes.
type Store interface {
	Repos
	Plans
	PlanRetention
	Runs
	Locks
	Ledger
	Audit
	Moves
	History
	Alerts
	Decommissions
	// Close releases the backend's resources.
	Close() error
}

// Repos maps config repo IDs to their sources.
type Repos interface {
	// EnsureRepo records the repo if it is new. It is idempotent.
	EnsureRepo(ctx context.Context, r Repo) error
	// GetRepo returns the repo with the given ID, or an ENOTFOUND error.
	GetRepo(ctx context.Context, id string) (Repo, error)
}

// Plans keeps saved plans and their per-target Terraform artefacts.
// Backends store documents compressed, once per plan ID, and read them
// back as they were saved.
type Plans interface {
	// SavePlan stores p, replacing a plan with the same ID and its targets:
	// the ID is derived from the plan's inputs, so a re-plan with the same
	// ID has the same content, and its document is not written again when
	// it is unchanged. Saving a plan that retention pruned brings it back.
	SavePlan(ctx context.Context, p PlanRecord) error
	// GetPlan returns the plan with its targets, or an ENOTFOUND error: a
	// *PlanPrunedError when retention deleted it.
	GetPlan(ctx context.Context, id string) (PlanRecord, error)
	// ListPlans returns a repo's plans, newest first, without documents or
	// targets. Pruned plans are not listed.
	ListPlans(ctx context.Context, repoID string, limit int) ([]PlanRecord, error)
}

// PlanRetention bounds what saved plans take: the store grows with the
// fleet, not with every plan.
type PlanRetention interface {
	// PrunePlans deletes the repo's plans that retention does not keep and
	// returns them, oldest first. It keeps the newest keepPerRef plans of
	// each ref (branch, tag or pull-request head; a folder's plans share
	// the empty ref), in ListPlans order, and whatever something still
	// needs: every applied plan (a succeeded apply run, the ledger or an
	// applied target names it), a plan a running run or a held lock
	// names, one a GitOps move started from, and the newest plan each
	// pull request's comment links to. keepPerRef <= 0 keeps every plan.
	// Cost history, finding records, runs and the audit log are never
	// touched. A pruned plan leaves a tombstone, so that GetPlan says it
	// was pruned rather than that it never existed.
	PrunePlans(ctx context.Context, repoID string, keepPerRef int) ([]PrunedPlan, error)
	// PlanStats says how many plans a repo has and what they take.
	PlanStats(ctx context.Context, repoID string) (PlanStats, error)
}

// DefaultPlanRetention is how many plans of each ref are kept when the
// operator does not say: enough to compare a branch's last weeks of plans,
// few enough that a large fleet's store stays small.
const DefaultPlanRetention = 50

// PrunedPlan is a plan that retention deleted.
type PrunedPlan struct {
	ID        string
	RepoID    string
	Ref       string
	Commit    string
	CreatedAt time.Time
	PrunedAt  time.Time
}

// PlanStats is what a repo's saved plans take.
type PlanStats struct {
	// Plans is how many are saved; Pruned how many retention deleted.
	Plans, Pruned int
	// RawBytes is the size of their documents and Terraform show JSON as
	// JSON; StoredBytes what they take in the database (compressed).
	RawBytes, StoredBytes int64
}

// Runs records every plan, apply and drift run and its outcome.
type Runs interface {
	// CreateRun inserts r with status running. r.ID must be unique.
	CreateRun(ctx context.Context, r Run) error
	// FinishRun moves a running run to its final status. It fails with
	// ErrRunNotRunning when the run is no longer running, e.g. because its
	// lease expired and it was recorded as interrupted: a run that was
	// interrupted is never recorded as succeeded. With a fence, the write
	// also fails with ErrLockLost when the lock was taken over.
	FinishRun(ctx context.Context, id string, fence *Fence, f RunFinish) error
	// GetRun returns one run, or an ENOTFOUND error.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns runs matching f, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]Run, error)
}

// Locks serializes work on a target. A lock has a lease that its holder
// renews; when the lease expires the next AcquireLock takes the lock over,
// records the holder's run as interrupted and bumps the fencing token, so
// that every later write of the old holder fails with ErrLockLost. None of
// the calls block: waiting is the caller's choice (see AcquireWait).
//
// Waiting is first come, first served across processes: a request with a
// Waiter joins the lock's queue (or keeps its place, renewing it), and a
// free lock goes only to the oldest live waiter, never to a request that
// is not queued while anyone waits. A waiter that stops asking (a killed
// process) loses its place once its WaitTTL has passed.
type Locks interface {
	// AcquireLock takes the lock for req.Key, or fails with *LockHeldError
	// naming the holder and the request's place in the queue. Taking the
	// lock removes the request from the queue.
	AcquireLock(ctx context.Context, req LockRequest) (Lock, error)
	// LeaveLockQueue removes waiter from key's queue, for a request that
	// gave up. Leaving a queue one is not in is not an error.
	LeaveLockQueue(ctx context.Context, key LockKey, waiter string) error
	// ListLockWaiters returns the live waiters of a repo's locks (of all
	// repos when repoID is empty), by repo, target and position.
	ListLockWaiters(ctx context.Context, repoID string) ([]LockWaiter, error)
	// RenewLock extends the lease by ttl from now. It fails with
	// ErrLockLost when f no longer holds the lock.
	RenewLock(ctx context.Context, f Fence, ttl time.Duration) (Lock, error)
	// ReleaseLock frees the lock. It fails with ErrLockLost when f no
	// longer holds it.
	ReleaseLock(ctx context.Context, f Fence) error
	// CheckFence fails with ErrLockLost unless f holds the lock now.
	CheckFence(ctx context.Context, f Fence) error
	// ForceUnlock frees the lock whoever holds it, records the holder's run
	// as interrupted and appends an audit event naming actor and reason.
	// It returns the previous holder and whether the lock was held.
	ForceUnlock(ctx context.Context, key LockKey, actor, reason string) (Lock, bool, error)
	// ListLocks returns the held locks (including those whose lease has
	// expired but that nobody took over yet) of a repo, or of all repos
	// when repoID is empty.
	ListLocks(ctx context.Context, repoID string) ([]Lock, error)
}

// Ledger is the applied state: what Meridian last applied on each target.
type Ledger interface {
	// RecordApplied replaces the target's ledger rows with entries and its
	// applied-target row with t, in one transaction, if fence still holds
	// the target's lock (ErrLockLost otherwise).
	RecordApplied(ctx context.Context, fence Fence, t AppliedTarget, entries []LedgerEntry) error
	// LedgerEntries returns a repo's ledger, ordered by target and workload.
	LedgerEntries(ctx context.Context, repoID string) ([]LedgerEntry, error)
	// AppliedTargets returns a repo's applied targets, ordered by name.
	AppliedTargets(ctx context.Context, repoID string) ([]AppliedTarget, error)
}

// Audit is the append-only audit log. Backends must make rows immutable.
type Audit interface {
	// AppendAudit appends e; e.ID and a zero e.At are filled in.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns events matching f, oldest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// Repo is a config repo.
type Repo struct {
	// ID is RepoID(Source).
	ID string
	// Source is the absolute directory or the URL without credentials.
	Source    string
	CreatedAt time.Time
}

// PlanRecord is a saved plan.
type PlanRecord struct {
	ID     string
	RepoID string
	// Source and Ref say where to reload the config to check staleness.
	Source string
	Ref    string
	Commit string
	Dirty  bool
	// TreeDigest hashes every file of the config at plan time, so that a
	// changed working tree is stale even when the commit is the same.
	TreeDigest string
	// Document is the plan as JSON (docs/plan-json.md), secrets redacted.
	Document  json.RawMessage
	CreatedAt time.Time
	CreatedBy string
	Targets   []PlanTarget
}

// PlanTarget is one Terraform target's artefacts in a saved plan.
type PlanTarget struct {
	Target string
	// Dir holds the module snapshot, meridian.auto.tfvars.json and the
	// saved plan file, relative to the state dir.
	Dir string
	// InputsDigest hashes the module, variables and backend config.
	InputsDigest string
	// StateSerial and StateLineage identify the state planned against.
	StateSerial  int64
	StateLineage string
	Change       meridian.TargetChange
	// Placements are the workloads the target runs once applied.
	Placements []Placement
	// ShowJSON is `terraform show -json` of the plan file, redacted.
	ShowJSON json.RawMessage
}

// Placement is a workload's replicas on a target, as applied.
type Placement struct {
	Workload string `json:"workload"`
	Replicas int    `json:"replicas"`
}

// RunKind says what a run did.
type RunKind string

// Run kinds.
const (
	RunPlan   RunKind = "plan"
	RunApply  RunKind = "apply"
	RunDrift  RunKind = "drift"
	RunUnlock RunKind = "unlock"
)

// RunStatus is a run's outcome.
type RunStatus string

// Run statuses. Only RunRunning is not final.
const (
	RunRunning     RunStatus = "running"
	RunSucceeded   RunStatus = "succeeded"
	RunFailed      RunStatus = "failed"
	RunRefused     RunStatus = "refused"
	RunInterrupted RunStatus = "interrupted"
	RunSkipped     RunStatus = "skipped"
)

// Owner is who runs something: the process and the person or system.
type Owner struct {
	Host  string
	PID   int
	Actor string
}

// Run is one command's work (Target empty) or one target's part of it
// (ParentID set).
type Run struct {
	ID         string
	ParentID   string
	RepoID     string
	Kind       RunKind
	PlanID     string
	Target     string
	Status     RunStatus
	Owner      Owner
	StartedAt  time.Time
	FinishedAt time.Time
	// Output is the run's machine-readable log, secrets redacted.
	Output string
	Error  string
	// Detail is a JSON summary (change counts, state serial, ...).
	Detail json.RawMessage
}

// Duration is how long the run took (zero while running).
func (r Run) Duration() time.Duration {
	if r.FinishedAt.IsZero() {
		return 0
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// RunFinish is a run's final record.
type RunFinish struct {
	Status RunStatus
	// PlanID, when set, records the plan the run made or applied (a plan's
	// ID is known only once it is made).
	PlanID string
	Output string
	Error  string
	Detail json.RawMessage
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	RepoID   string
	PlanID   string
	ParentID string
	Target   string
	Kind     RunKind
	Limit    int
}

// LockKey names a lock: one per (repo, target).
type LockKey struct {
	RepoID string
	Target string
}

// Fence proves lock ownership: the token changes whenever the lock changes
// hands.
type Fence struct {
	Key   LockKey
	Token int64
}

// LockRequest asks for a lock.
type LockRequest struct {
	Key    LockKey
	Owner  Owner
	PlanID string
	RunID  string
	TTL    time.Duration
	// Waiter, when set, queues the request under this ID (unique per
	// request) if it cannot have the lock now; asking again with the same
	// Waiter keeps its place for another WaitTTL.
	Waiter  string
	WaitTTL time.Duration
}

// LockWaiter is a request queued for a lock.
type LockWaiter struct {
	Key    LockKey
	Waiter string
	Owner  Owner
	PlanID string
	RunID  string
	// Position is the waiter's place in the queue: 1 is next.
	Position   int
	EnqueuedAt time.Time
	// ExpiresAt is when the waiter loses its place unless it asks again.
	ExpiresAt time.Time
}

// DeployLockTarget is the lock target of a config repo's deploy step
// (committing the deploy tree and its move records): applies of one repo
// take it after their Terraform targets, so that they commit one at a
// time even when the config has no Terraform target. Target names are
// DNS labels, so no target can take this name.
const DeployLockTarget = "@deploy"

// Lock is a held lock.
type Lock struct {
	Key LockKey
	// Token is the fencing token, strictly increasing per key.
	Token      int64
	Owner      Owner
	PlanID     string
	RunID      string
	AcquiredAt time.Time
	RenewedAt  time.Time
	ExpiresAt  time.Time
}

// Fence returns the lock's fence.
func (l Lock) Fence() Fence { return Fence{Key: l.Key, Token: l.Token} }

// LedgerEntry is one workload running on one target, as last applied.
type LedgerEntry struct {
	RepoID    string
	Target    string
	Workload  string
	PlanID    string
	Commit    string
	Replicas  int
	RunID     string
	AppliedAt time.Time
}

// AppliedTarget is the last successful apply on a target.
type AppliedTarget struct {
	RepoID string
	Target string
	PlanID string
	RunID  string
	Commit string
	// Dir is the applied plan's artefact folder, relative to the state dir.
	Dir string
	// StateSerial and StateLineage are the state's after the apply: a
	// different serial later means something else wrote the state.
	StateSerial  int64
	StateLineage string
	AppliedAt    time.Time
}

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID     int64
	At     time.Time
	RepoID string
	Actor  string
	// Action is a dotted verb such as "apply.start" or "lock.force_unlock".
	Action string
	Target string
	PlanID string
	RunID  string
	Detail string
}

// AuditFilter selects audit events; zero fields match everything.
type AuditFilter struct {
	RepoID string
	Action string
	Target string
	Limit  int
}

// History is the control plane's record over time (migration 3): the
// event log, the finding lifecycle, cost history and drift records.
type History interface {
	Events
	Findings
	Costs
	DriftRecords
}

// DefaultEventRetention is how long events are kept when the operator does
// not say: long enough for a subscriber that was away over a holiday to
// catch up, short enough that the log stays small.
const DefaultEventRetention = 30 * 24 * time.Hour

// Events is the append-only event log behind the live feed. The store
// assigns IDs, strictly increasing in commit order and never reused (not
// even after pruning), so that a subscriber that has seen every event up to
// ID n and asks for those after n misses none and gets none twice, across
// restarts of either side.
type Events interface {
	// AppendEvents appends evs in one transaction, in order, and returns
	// them with ID set and a zero Time filled in from the store's clock.
	// An unknown event type is an EINVALID error and appends nothing.
	AppendEvents(ctx context.Context, evs []meridian.Event) ([]meridian.Event, error)
	// EventsAfter returns up to limit events with an ID above afterID,
	// oldest first (limit <= 0: all of them).
	EventsAfter(ctx context.Context, afterID int64, limit int) ([]meridian.Event, error)
	// LastEventID returns the ID of the newest retained event (0 when none
	// is): a subscriber that asks for the events after it gets exactly the
	// events appended from then on, since every later one has a higher ID.
	LastEventID(ctx context.Context) (int64, error)
	// PruneEvents deletes the events older than before and returns how
	// many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// Findings keeps the finding lifecycle records of each repo and branch.
// The caller computes a transition (package history) from the records it
// reads and saves it with SaveFindings; callers serialize the plans of one
// branch, as the server's planner does.
type Findings interface {
	// FindingRecords returns the records matching f, ordered by
	// fingerprint.
	FindingRecords(ctx context.Context, f FindingFilter) ([]meridian.FindingRecord, error)
	// SaveFindings upserts records (keyed by repo, branch and fingerprint)
	// and appends events, in one transaction, and returns the events with
	// their IDs: a crash leaves either the whole transition or none of it.
	SaveFindings(ctx context.Context, records []meridian.FindingRecord, events []meridian.Event) ([]meridian.Event, error)
}

// FindingFilter selects finding records; zero fields match everything.
type FindingFilter struct {
	RepoID   string
	Branch   string
	State    meridian.FindingState
	Rule     string
	Severity meridian.Severity
	Workload string
	Target   string
	Team     string
	Limit    int
}

// Costs keeps the monthly cost of every plan and apply. Nothing else
// deletes it: plan retention leaves cost history alone.
type Costs interface {
	// RecordCost appends p; a zero p.Time is the store's clock.
	RecordCost(ctx context.Context, p meridian.CostPoint) error
	// CostHistory returns the points matching f, oldest first, each with
	// By holding f.Dimension only (every dimension when it is empty).
	CostHistory(ctx context.Context, f CostFilter) ([]meridian.CostPoint, error)
}

// CostFilter selects cost points; zero fields match everything.
type CostFilter struct {
	RepoID    string
	Branch    string
	Kind      meridian.CostKind
	Dimension meridian.CostDimension
	// Since keeps the points at or after it.
	Since time.Time
}

// DriftRecords keeps drift as records that open when a check first sees a
// difference and clear when a check no longer does.
type DriftRecords interface {
	// SyncDrift records one drift check of repoID that covered engines:
	// each of current opens a record (drift.opened) or refreshes the open
	// record with the same Key (last seen, action, expected, actual); each
	// open record of those engines that current lacks is cleared
	// (drift.cleared). Records and events are written in one transaction,
	// and the events are returned with their IDs. A record of an engine
	// outside engines is an EINVALID error.
	//
	// A record of current whose ID is that of the open record with its Key
	// is carried over, not seen: it stays open exactly as it was. A check
	// that covered an engine only in part (one target of several failed)
	// carries the open records of the part it could not look at, so that
	// they are neither cleared nor claimed seen.
	SyncDrift(ctx context.Context, repoID string, engines []meridian.DriftEngine, current []meridian.DriftRecord) ([]meridian.Event, error)
	// OpenDrift returns a repo's open drift records, ordered by engine,
	// target, workload and resource.
	OpenDrift(ctx context.Context, repoID string) ([]meridian.DriftRecord, error)
	// ClearDrift clears the open records with the given IDs (e.g. of a
	// target that no longer exists) and returns their drift.cleared events.
	ClearDrift(ctx context.Context, repoID string, ids []int64) ([]meridian.Event, error)
	// ListDrift returns the records matching f: open ones by engine,
	// target, workload and resource, then cleared ones, newest cleared
	// first.
	ListDrift(ctx context.Context, f DriftFilter) ([]meridian.DriftRecord, error)
}

// DriftState selects drift records by whether they are cleared.
type DriftState string

// Drift states. The zero DriftState is DriftOpen.
const (
	DriftOpen    DriftState = "open"
	DriftCleared DriftState = "cleared"
	DriftAll     DriftState = "all"
)

// Valid reports whether s is a known drift state (empty means open).
func (s DriftState) Valid() bool {
	return s == "" || s == DriftOpen || s == DriftCleared || s == DriftAll
}

// DriftFilter selects drift records; zero fields match everything, except
// State, whose zero value selects the open records.
type DriftFilter struct {
	RepoID   string
	State    DriftState
	Engine   meridian.DriftEngine
	Target   string
	Workload string
	Limit    int
}
