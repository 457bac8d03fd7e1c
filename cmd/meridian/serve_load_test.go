package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/meridian/github"
	"github.com/meridianhq/meridian/store"
)

// loadFigures are what the load test measures.
type loadFigures struct {
	mu       sync.Mutex
	api      []time.Duration
	webhooks []time.Duration
	errors   []string
}

func (f *loadFigures) add(api bool, d time.Duration, errMsg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if api {
		f.api = append(f.api, d)
	} else {
		f.webhooks = append(f.webhooks, d)
	}
	if errMsg != "" && len(f.errors) < 20 {
		f.errors = append(f.errors, errMsg)
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// TestServeLoad drives the whole server on loopback with API clients and
// webhook deliveries at once, most of them for the same few commits, and
// checks that nothing fails, that every delivery is accounted for in the
// store, and that the deliveries were coalesced into a handful of plans.
// It reports p50 and p99 latencies.
//
// By default it runs briefly (so that CI exercises it); MERIDIAN_LOADTEST=1
// runs the full 30 seconds, MERIDIAN_LOADTEST_DURATION overrides the length.
// The figures are reported, not asserted: timing depends on the machine.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const clients, deliveriesPerSecond = 200, 50
	duration := 3 * time.Second
	if os.Getenv("MERIDIAN_LOADTEST") == "1" {
		duration = 30 * time.Second
	}
	if s := os.Getenv("MERIDIAN_LOADTEST_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("MERIDIAN_LOADTEST_DURATION: %v", err)
		}
		duration = d
	}
	repo, state := exampleRepo(t), t.TempDir()
	main := git(t, repo, "rev-parse", "HEAD")
	// Three pull requests: the "few commits" most deliveries are about.
	var heads []string
	for i := range 3 {
		git(t, repo, "checkout", "-q", "-b", fmt.Sprint("pr-", i))
		editFile(t, repo, "workloads/docs-site.yaml", "max: 3", fmt.Sprint("max: ", i+4))
		git(t, repo, "commit", "-qam", fmt.Sprint("pr ", i))
		heads = append(heads, git(t, repo, "rev-parse", "HEAD"))
		git(t, repo, "checkout", "-q", "main")
	}
	m, gh := bootServer(t, repo, state, func(c *ServeConfig) { c.NoTerraform = true })
	r := runCLI(t, "token", "create", "--role", "viewer", "--name", "load", "--state-dir", state)
	if r.code != 0 {
		t.Fatalf("token create: %s", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	token := lines[len(lines)-1]
	base := "http://" + m.Addr()
	waitUntil(t, "the startup plan", func() bool { return m.Reconciler().State().PlanID != "" })
	planID := m.Reconciler().State().PlanID

	prBodies := make([][]byte, len(heads))
	for i, h := range heads {
		prBodies[i] = signedPayload(t, "pull_request.synchronize.payload.json", map[string]any{
			"number": 10 + i, "pull_request.number": 10 + i, "pull_request.head.sha": h,
			"pull_request.head.ref": fmt.Sprint("pr-", i), "pull_request.base.sha": main, "pull_request.base.ref": "main"})
	}
	pushBody := signedPayload(t, "push.branch.argo-cd-testdata.json", map[string]any{"ref": "refs/heads/main", "after": main,
		"repository.full_name": "Codertocat/Hello-World"})

	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2}
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	paths := []string{"/api/v1/status", "/api/v1/plans", "/api/v1/plans/" + planID, "/api/v1/placements?page_size=10",
		"/api/v1/findings", "/api/v1/costs?group_by=team", "/api/v1/forecasts", "/api/v1/runs?page_size=5", "/api/v1/locks"}
	figs := &loadFigures{}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	var apiErrors, hookErrors atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for ctx.Err() == nil {
				p := paths[rng.IntN(len(paths))]
				req, _ := http.NewRequest(http.MethodGet, base+p, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := hc.Do(req)
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						msg = fmt.Sprintf("GET %s: %d", p, resp.StatusCode)
					}
				}
				if msg != "" {
					apiErrors.Add(1)
				}
				figs.add(true, time.Since(start), msg)
			}
		}()
	}
	var sent atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / deliveriesPerSecond)
		defer tick.Stop()
		var hooks sync.WaitGroup
		defer hooks.Wait()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			event, body := "pull_request", prBodies[n%len(prBodies)]
			if n%5 == 4 {
				event, body = "push", pushBody
			}
			id := "load-" + strconv.Itoa(n)
			sent.Add(1)
			hooks.Add(1)
			go func() {
				defer hooks.Done()
				req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
				req.Header.Set(github.HeaderEvent, event)
				req.Header.Set(github.HeaderDelivery, id)
				req.Header.Set(github.HeaderSignature, github.Sign([]byte(e2eSecret), body))
				start := time.Now()
				resp, err := hc.Do(req)
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						msg = fmt.Sprintf("webhook %s: %d", id, resp.StatusCode)
					}
				}
				if msg != "" {
					hookErrors.Add(1)
				}
				figs.add(false, time.Since(start), msg)
			}()
		}
	}()
	wg.Wait()

	// Every delivery must end up processed in the store: none lost, none
	// failed, none stuck.
	var counts map[string]int
	waitUntil(t, "every delivery to be processed", func() bool {
		var err error
		counts, err = m.Store().CountDeliveries(context.Background())
		return err == nil && counts[store.DeliveryReceived] == 0 && counts[store.DeliveryProcessed]+counts[store.DeliveryFailed] >= int(sent.Load())
	})
	runs, err := m.Store().ListRuns(context.Background(), store.RunFilter{Kind: store.RunPlan})
	if err != nil {
		t.Fatal(err)
	}
	comments := 0
	for _, c := range gh.snapshot() {
		if c.Method == http.MethodPost && !strings.Contains(c.Path, "/statuses/") {
			comments++
		}
	}
	report := fmt.Sprintf("load test over %s on loopback: %d API clients made %d requests (p50 %s, p99 %s, %d errors); "+
		"%d webhook deliveries at %d/s (p50 %s, p99 %s, %d errors); store: %v; %d plan runs in all; %d PR comments created",
		duration, clients, len(figs.api), percentile(figs.api, .5).Round(time.Microsecond), percentile(figs.api, .99).Round(time.Microsecond), apiErrors.Load(),
		sent.Load(), deliveriesPerSecond, percentile(figs.webhooks, .5).Round(time.Microsecond), percentile(figs.webhooks, .99).Round(time.Microsecond), hookErrors.Load(),
		counts, len(runs), comments)
	t.Log(report)
	fmt.Fprintln(os.Stderr, report)
	if apiErrors.Load()+hookErrors.Load() > 0 {
		t.Errorf("errors under load, e.g. %v", figs.errors)
	}
	if counts[store.DeliveryProcessed] != int(sent.Load()) || counts[store.DeliveryFailed] != 0 {
		t.Errorf("%d deliveries sent, store has %v: every one must be processed", sent.Load(), counts)
	}
	// One plan for the branch at startup, and for each pull request its
	// head; the shared base is planned once more (without Terraform, a
	// different input). Everything else coalesced.
	if len(runs) != 1+len(heads)+1 {
		t.Errorf("%d plan runs for %d distinct commits: deliveries were not coalesced", len(runs), 1+len(heads))
	}
	if comments != len(heads) {
		t.Errorf("%d PR comments created, want one per pull request (%d)", comments, len(heads))
	}
}
