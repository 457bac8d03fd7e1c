package sqlite_test

import (
	"testing"
	"time"

	"github.com/meridianhq/meridian/store/storetest"
)

// TestServerConformance runs the suite for the server's records (tokens,
// webhook deliveries, pull-request comments).
func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T, now func() time.Time) storetest.ServerStore { return mustOpen(t, now) })
}

// TestDashboardConformance runs the suite for browser sign-in and the
// overview's counts.
func TestDashboardConformance(t *testing.T) {
	storetest.RunDashboard(t, func(t *testing.T, now func() time.Time) storetest.DashboardStore { return mustOpen(t, now) })
}
