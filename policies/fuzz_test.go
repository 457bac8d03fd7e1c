package policies

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/meridianhq/meridian"
)

// FuzzNew feeds arbitrary org policy source to New: it must never panic,
// must report problems as config errors that name the file, and an engine
// it accepts must evaluate without panicking, within its deadline.
func FuzzNew(f *testing.F) {
	for _, src := range randomOrgPolicies {
		f.Add(src)
	}
	f.Add("package meridian.org.workload.x\n\ndeny contains {\"id\": \"X\", \"msg\": input.workload.name}\n")
	f.Add("package meridian.org.placement.x\n\nwarn contains f if {\n\tsome k in input\n\tf := {\"id\": k, \"msg\": k}\n}\n")
	f.Add("package meridian.org.lib\n\nx := 1\n")
	f.Add("package p {")
	f.Add("package meridian.org.workload.x\n\ndeny contains {\"id\": \"X\", \"msg\": \"m\"} if http.send({\"url\": \"http://127.0.0.1:1\"})\n")
	f.Add("package meridian.org.workload.x\n\nhttp.send(x) := x\n\nwarn contains {\"id\": \"X\", \"msg\": http.send(\"m\")} if true\n")
	f.Add("package meridian.org.placement.x\n\ninfo contains {\"id\": \"X\", \"msg\": \"m\"} if count([i | some i in numbers.range(1, 12000000)]) > 0\n")
	ctx := context.Background()
	ws, ts := []meridian.Workload{apiWorkload()}, []meridian.Target{euTarget()}
	f.Fuzz(func(t *testing.T, src string) {
		// A hang would otherwise stall the fuzzer silently; crashing the
		// worker makes it record the input.
		watchdog := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("New/Check hung on %q", src)) })
		defer watchdog.Stop()
		// The evaluation deadline is well inside the watchdog's, so a slow
		// policy ends in an error, as it would in a plan.
		e, err := New(ctx, meridian.DefaultSettings(), map[string]string{"policies/p.rego": src}, WithEvalTimeout(2*time.Second))
		if err != nil {
			var ces meridian.ConfigErrors
			if !errors.As(err, &ces) || len(ces) == 0 {
				t.Fatalf("New error %v (%T) is not ConfigErrors", err, err)
			}
			for _, ce := range ces {
				if ce.File == "" {
					t.Errorf("config error without a file: %v", ce)
				}
			}
			return
		}
		_, _ = e.CheckWorkloads(ctx, ws)
		_, _ = e.CheckPlacements(ctx, ws, ts)
	})
}
