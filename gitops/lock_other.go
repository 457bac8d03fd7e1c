//go:build !unix && !windows

package gitops

import "os"

// tryLock always succeeds: these platforms (js, wasip1, plan9) have no
// advisory file locks, so concurrent loads of one URL must be serialized by
// the caller there.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) error { return nil }
