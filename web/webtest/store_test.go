package webtest_test

import (
	"testing"
	"time"

	"github.com/meridianhq/meridian/store/storetest"
	"github.com/meridianhq/meridian/web"
	"github.com/meridianhq/meridian/web/webtest"
)

var _ web.Store = (*webtest.Store)(nil)

// TestServerConformance holds the in-memory store to the same contract as
// the SQLite one, so that web's unit tests mean something.
func TestServerConformance(t *testing.T) {
	storetest.RunServer(t, func(t *testing.T, now func() time.Time) storetest.ServerStore { return webtest.NewStore(now) })
}
