package controlplane_test

import (
	"testing"

	"github.com/meridianhq/meridian/controlplane/controlplanetest"
)

// Short names for the fixtures every test here builds.
var (
	workload, config, snapshot = controlplanetest.Workload, controlplanetest.Config, controlplanetest.Snapshot
)

// newHarness returns a reconciler on in-memory collaborators, its loop
// running unless o.NoRun.
func newHarness(t *testing.T, o controlplanetest.HarnessOptions) *controlplanetest.Harness {
	t.Helper()
	h := controlplanetest.NewHarness(t, o)
	h.Start()
	return h
}
