// Command meridian plans, checks and applies workload placement across
// clouds, on-prem data centres and edge sites from a GitOps config repo.
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/meridianhq/meridian/gitops"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitError   = 1
	exitBlocked = 2
)

// exitErr carries a specific exit code out of a command. A nil err with a
// code means "no message, just this status".
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitErr) Unwrap() error { return e.err }

// run executes the CLI and returns the process exit code. It is the whole
// program minus os.Exit, so tests drive it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	defer a.stopTracing()
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "meridian: %s\n", gitops.RedactText(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "meridian: %s\n", gitops.RedactText(err.Error()))
	return exitError
}
