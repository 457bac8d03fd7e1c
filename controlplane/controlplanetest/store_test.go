package controlplanetest_test

import (
	"testing"
	"time"

	"github.com/meridianhq/meridian/controlplane"
	"github.com/meridianhq/meridian/controlplane/controlplanetest"
	"github.com/meridianhq/meridian/store/storetest"
)

var (
	_ controlplane.Store        = (*controlplanetest.Store)(nil)
	_ controlplane.Loader       = (*controlplanetest.Loader)(nil)
	_ controlplane.Planner      = (*controlplanetest.Planner)(nil)
	_ controlplane.Applier      = (*controlplanetest.Applier)(nil)
	_ controlplanetest.Recorder = (*controlplanetest.Store)(nil)
)

// TestServerConformance holds the in-memory store to the same contract as
// the SQLite one, so that the unit tests of controlplane and web mean
// something.
func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T, now func() time.Time) storetest.ServerStore {
		return controlplanetest.NewStore(now)
	})
}
