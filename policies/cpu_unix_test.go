//go:build unix

package policies

import (
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports the process CPU time per op as cpu-ms/op, which unlike
// ns/op stays meaningful on a machine shared with other builds.
type cpuTimer struct{ start time.Duration }

func startCPU(b *testing.B) *cpuTimer {
	b.Helper()
	return &cpuTimer{start: cpuTime(b)}
}

func (c *cpuTimer) report(b *testing.B) {
	b.Helper()
	b.ReportMetric(float64(cpuTime(b)-c.start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
