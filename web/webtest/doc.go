// Package webtest has in-memory stand-ins for the server's collaborators:
// a Store, a Loader over in-memory configs, and a Planner that places
// workloads without the policy engine, so that package web is tested fast
// and without OPA. cmd/meridian's end-to-end tests use the real ones.
package webtest
