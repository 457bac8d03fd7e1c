//go:build !unix

package terraform

// lockFile is a no-op where flock is unavailable; the in-process mutex
// still serializes init within one meridian.
func lockFile(string) (func(), error) { return func() {}, nil }
