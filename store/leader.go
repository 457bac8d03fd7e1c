package store

import "time"

// QueuedDelivery is a verified webhook delivery waiting for the leader of
// the replicas that share a store (migration 9 of PostgreSQL; package
// leader keeps the queue). Its outcome is recorded as a Delivery.
type QueuedDelivery struct {
	// ID is the forge's delivery ID, as in Delivery.
	ID     string
	RepoID string
	Event  string
	// Payload is the delivery's body, as signed.
	Payload  []byte
	QueuedAt time.Time
	// Attempts counts the times a leader began processing it.
	Attempts int
}
