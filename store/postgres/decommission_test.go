package postgres_test

import (
	"testing"
	"time"

	"github.com/meridianhq/meridian/store"
	"github.com/meridianhq/meridian/store/storetest"
)

func TestDecommissionsConformance(t *testing.T) {
	storetest.RunDecommissions(t, func(t *testing.T, now func() time.Time) store.Store { return mustOpen(t, now) })
}
