//go:build unix

package eval

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) the process has used. Beside
// wall time it shows the cost of a fit on a machine shared with other work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
