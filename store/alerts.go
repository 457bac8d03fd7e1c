package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/meridianhq/meridian"
)

// Alerts is the alerting side of the store (migration 5): watched
// conditions, silences, and the outbox, alerts, groups and deliveries the
// alert dispatcher (package alerting) works through.
type Alerts interface {
	Conditions
	Silences
	AlertOutbox
}

// Conditions keeps watched conditions (meridian.ConditionRecord) as
// records that open when a check first sees them and clear when a check
// no longer does, like DriftRecords.
type Conditions interface {
	// SyncConditions records one check of repoID that covered sources:
	// each of current opens a record (condition.opened) or refreshes the
	// open record with the same source and fingerprint (last seen and the
	// descriptive fields); each open record of those sources that current
	// lacks is cleared (condition.cleared). Records, events and their
	// outbox rows are written in one transaction; the events are returned
	// with their IDs. A record of a source outside sources, or without a
	// fingerprint, is an EINVALID error.
	SyncConditions(ctx context.Context, repoID string, sources []meridian.AlertSource, current []meridian.ConditionRecord) ([]meridian.Event, error)
	// OpenConditions returns a repo's open conditions, ordered by source
	// and fingerprint.
	OpenConditions(ctx context.Context, repoID string) ([]meridian.ConditionRecord, error)
}

// Silences keeps the operators' time-boxed silences.
type Silences interface {
	// CreateSilence stores s with a new ID (a zero StartsAt is now) and
	// returns it. A silence without matcher, or that ends before it
	// starts, is an EINVALID error.
	CreateSilence(ctx context.Context, s meridian.Silence) (meridian.Silence, error)
	// ListSilences returns the silences matching f, newest first.
	ListSilences(ctx context.Context, f SilenceFilter) ([]meridian.Silence, error)
	// ExpireSilence ends the silence now and returns it; ENOTFOUND when
	// there is no such silence. Expiring an ended silence changes nothing.
	ExpireSilence(ctx context.Context, id string) (meridian.Silence, error)
}

// SilenceFilter selects silences; zero fields match everything.
type SilenceFilter struct {
	RepoID string
	// ActiveAt, when set, keeps the silences in force at that time.
	ActiveAt time.Time
	Limit    int
}

// AlertOutbox is the dispatcher's durable state. Every event that can
// start, change or end an alert gets an outbox row in the transaction that
// appends it, so that a crash between the event and its notification
// loses nothing. The dispatcher turns outbox rows into alert transitions
// and pending group notifications (CommitAlerts), groups into messages
// (FlushGroup) and messages into deliveries (FinishAttempt). Every
// write is one transaction, and the times are the caller's: the
// dispatcher's clock decides what is due.
type AlertOutbox interface {
	// PendingOutbox returns up to limit unprocessed outbox entries, oldest
	// first, each with its event.
	PendingOutbox(ctx context.Context, limit int) ([]OutboxEntry, error)
	// AlertsByFingerprint returns the alerts of repoID with the given
	// fingerprint, in any state, ordered by ID.
	AlertsByFingerprint(ctx context.Context, repoID, fingerprint string) ([]AlertRecord, error)
	// CommitAlerts writes c in one transaction: the alerts, the group
	// notifications they make pending, and (EventID > 0) the outbox row
	// marked processed. It fails with ECONFLICT, writing nothing, when
	// that row was already processed (by another dispatcher).
	CommitAlerts(ctx context.Context, c AlertCommit) error
	// DueGroups returns the groups with a notification due at now: a
	// pending change whose FlushAt has come, or firing alerts whose
	// RepeatAt has.
	DueGroups(ctx context.Context, now time.Time) ([]AlertGroup, error)
	// GroupAlerts returns a group's member alerts, ordered by ID.
	GroupAlerts(ctx context.Context, sink, group string) ([]GroupMember, error)
	// FlushGroup records, in one transaction, that the group was turned
	// into the delivery d: d is inserted (nothing happens if a delivery
	// with its Key exists), the group's members are no longer pending,
	// members whose alert ended are removed, and the group's sequence
	// becomes f.Seq with the new repeat time. It fails with ECONFLICT when
	// the group's sequence is no longer f.Seq-1 (another flush won).
	FlushGroup(ctx context.Context, f GroupFlush) error
	// DueDeliveries returns up to limit pending deliveries whose next
	// attempt is due at now, oldest first.
	DueDeliveries(ctx context.Context, now time.Time, limit int) ([]AlertDelivery, error)
	// FinishAttempt records the outcome of one send of a delivery.
	FinishAttempt(ctx context.Context, a DeliveryAttempt) error
	// ListAlerts returns the alerts matching f, the most recently changed
	// first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]AlertRecord, error)
	// ListDeliveries returns deliveries matching f, newest first.
	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]AlertDelivery, error)
	// ReplayDeadLetter makes the dead delivery id pending again, due at
	// now, with its attempts reset; ENOTFOUND when there is no such dead
	// delivery.
	ReplayDeadLetter(ctx context.Context, id int64, now time.Time) error
	// AlertStats sums up the alert state for metrics and status pages.
	AlertStats(ctx context.Context) (AlertStats, error)
	// PruneAlerts deletes what is done and older than before: processed
	// outbox rows, delivered messages, resolved alerts that no group
	// holds, silences that ended, cleared conditions. Pending and dead deliveries and open
	// alerts are kept whatever their age. It returns how many rows went.
	PruneAlerts(ctx context.Context, before time.Time) (int64, error)
}

// OutboxEntry is one unprocessed outbox row and the event it stands for.
type OutboxEntry struct {
	EventID   int64
	CreatedAt time.Time
	// Event is the event; its ID is zero when retention pruned it first.
	Event meridian.Event
}

// AlertRecord is an alert as the store keeps it.
type AlertRecord struct {
	meridian.Alert
	// SilencedBy says what keeps a silenced alert quiet: "waiver", or a
	// silence's ID. Empty unless State is silenced.
	SilencedBy string
	// Sinks are the sinks its routes took it to at its last change.
	Sinks []string
	// UpdatedAt is its last change.
	UpdatedAt time.Time
}

// AlertCommit is the outcome of one outbox entry (or of a silence check,
// with EventID 0).
type AlertCommit struct {
	EventID int64
	// ProcessedAt is when the outbox row is marked processed.
	ProcessedAt time.Time
	// Alerts are upserted by ID.
	Alerts []AlertRecord
	// Pending are group notifications to make or keep pending.
	Pending []GroupPending
}

// GroupPending puts an alert's change into a group's next message.
type GroupPending struct {
	Sink    string
	Group   string
	RouteID string
	AlertID string
	// At is when the change happened. A group already pending keeps its
	// FlushAt; a group notified before flushes its next message at At or
	// one GroupInterval after its last flush, whichever is later; a new
	// group flushes at FlushAt (At plus the route's group wait).
	At      time.Time
	FlushAt time.Time
	// GroupInterval and RepeatInterval are the route's, kept on the group
	// for its later flushes.
	GroupInterval  time.Duration
	RepeatInterval time.Duration
}

// AlertGroup is one sink's group of alerts: the unit one message is about.
type AlertGroup struct {
	Sink    string
	Group   string
	RouteID string
	// Seq counts the group's messages so far.
	Seq int64
	// FlushAt is when pending changes are due (zero: none pending).
	FlushAt time.Time
	// RepeatAt is when firing members are due to be sent again (zero:
	// never).
	RepeatAt       time.Time
	LastFlushAt    time.Time
	GroupInterval  time.Duration
	RepeatInterval time.Duration
}

// GroupMember is an alert in a group and whether its latest change is yet
// to be sent.
type GroupMember struct {
	AlertRecord
	Pending bool
}

// GroupFlush is one message made from a group.
type GroupFlush struct {
	Sink  string
	Group string
	// Seq is the group's new sequence number (AlertGroup.Seq + 1).
	Seq int64
	// Delivery is the message to send; none when its Key is empty (e.g.
	// every change pending was one that is not sent).
	Delivery AlertDelivery
	// RepeatAt is the group's next repeat (zero: none, e.g. nothing fires).
	RepeatAt time.Time
	// Ended are member alert IDs to drop from the group (resolved or
	// silenced alerts, now sent).
	Ended []string
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryDead      = "dead"
)

// AlertDelivery is one message to one sink and its delivery state.
type AlertDelivery struct {
	ID int64
	// Key is the message's idempotency key, unique in the store.
	Key   string
	Sink  string
	Group string
	// Message is the alerting.Message as JSON.
	Message       json.RawMessage
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	// LastError is the last failure, redacted and clipped by the caller.
	LastError   string
	DeliveredAt time.Time
	CreatedAt   time.Time
}

// DeliveryAttempt is the outcome of one send.
type DeliveryAttempt struct {
	ID int64
	// Status is the delivery's new status.
	Status string
	// Attempts is the delivery's new attempt count.
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	// At is when the attempt ended (the delivered time on success).
	At time.Time
}

// AlertFilter selects alerts; zero fields match everything.
type AlertFilter struct {
	State  meridian.AlertState
	RepoID string
	Limit  int
}

// DeliveryFilter selects deliveries; zero fields match everything.
type DeliveryFilter struct {
	Status string
	Sink   string
	Limit  int
}

// AlertStats sums up the alert state.
type AlertStats struct {
	// OutboxDepth is how many outbox rows are unprocessed.
	OutboxDepth int
	// OldestUndelivered is the creation time of the oldest unprocessed
	// outbox row or pending delivery (zero: none).
	OldestUndelivered time.Time
	// Alerts counts alerts by state and sink ("" when no sink took them).
	Alerts []AlertCount
	// Deliveries counts deliveries by sink and status.
	Deliveries []DeliveryCount
}

// AlertCount is how many alerts are in State at Sink.
type AlertCount struct {
	State meridian.AlertState
	Sink  string
	N     int
}

// DeliveryCount is how many deliveries to Sink have Status.
type DeliveryCount struct {
	Sink   string
	Status string
	N      int
}
