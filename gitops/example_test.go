package gitops_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/meridianhq/meridian/gitops"
)

// A directory outside Git loads as it is on disk, with no commit. A Git URL
// would be mirrored under Options.CacheDir and read at the resolved commit.
func ExampleLoad() {
	dir, err := os.MkdirTemp("", "config")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "meridian.yaml"), []byte("currency: USD\n"), 0o644); err != nil {
		panic(err)
	}

	snap, err := gitops.Load(context.Background(), dir, "", gitops.Options{})
	if err != nil {
		panic(err)
	}
	b, err := fs.ReadFile(snap.FS, "meridian.yaml")
	if err != nil {
		panic(err)
	}
	fmt.Printf("commit=%q dirty=%v\n%s", snap.Commit, snap.Dirty, b)
	// Output:
	// commit="" dirty=false
	// currency: USD
}

func ExampleRedactURL() {
	fmt.Println(gitops.RedactURL("https://x-access-token:ghp_secret@github.com/acme/config.git"))
	fmt.Println(gitops.RedactURL("ssh://git:pw@github.com/acme/config.git"))
	// Output:
	// https://github.com/acme/config.git
	// ssh://git@github.com/acme/config.git
}
