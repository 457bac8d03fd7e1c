// Package alerting turns the control plane's alerts into notifications:
// alerting.yaml (kind Alerting) declares sinks and routes; a Dispatcher
// takes alerts from the store's outbox, routes and groups them, and
// delivers each message to its sinks with retries, rate limits and dead
// letters (see docs/alerts.md).
package alerting
