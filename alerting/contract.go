package alerting

import (
	"context"
	"errors"
	"time"

	"github.com/meridianhq/meridian"
)

// Message is one notification to one sink: the alerts of one group that
// changed or are due to repeat.
type Message struct {
	// Key is the idempotency key: the same for every retry of this
	// message, different for any other. Receivers deduplicate on it.
	Key string `json:"key"`
	// Sink is the sink's name in alerting.yaml.
	Sink string `json:"sink"`
	// Group is the group's key, e.g. "commit=abc123" or "target=aws-eu".
	Group string `json:"group"`
	// Alerts are the group's alerts, firing and resolved.
	Alerts []meridian.Alert `json:"alerts"`
	// Repeat marks a re-notification of alerts that still fire.
	Repeat bool `json:"repeat,omitempty"`
	// Test marks a message from `meridian alerts test`.
	Test bool `json:"test,omitempty"`
	// Created is when the message was first made; retries keep it.
	Created time.Time `json:"created"`
}

// Sender delivers messages to one sink. Send must be safe for concurrent
// use and honour ctx's deadline.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a send error that retrying cannot fix (a 4xx other
// than 408 and 429, a message the sink refuses): the message goes to the
// dead letters at once. Senders wrap it.
var ErrPermanent = errors.New("permanent delivery failure")

// RetryAfterError is a send error carrying how long the sink asked the
// sender to wait (HTTP 429 or 503 with Retry-After).
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }
