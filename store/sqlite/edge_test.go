package sqlite_test

import (
	"testing"
	"time"

	"github.com/meridianhq/meridian/store/storetest"
)

func TestEdgeConformance(t *testing.T) {
	storetest.RunEdge(t, func(t *testing.T, now func() time.Time) storetest.EdgeStore { return mustOpen(t, now) })
}
