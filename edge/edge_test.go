package edge

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/meridianhq/meridian"
	"github.com/meridianhq/meridian/store"
)

func mustKey(t *testing.T, name string) *Key {
	t.Helper()
	k, err := LoadKey(filepath.Join(t.TempDir(), name), true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// read opens a bundle as an agent holding pub under keyID does.
func read(body []byte, keyID string, pub *Key) (bundle.Bundle, error) {
	vc := bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{keyID: {Key: pub.PublicPEM, Algorithm: SigningAlgorithm}}, keyID, "", nil)
	return bundle.NewReader(bytes.NewReader(body)).WithBundleVerificationConfig(vc).Read()
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "key.pem")
	k1, err := LoadKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("generated key has mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadKey(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID != k2.ID || k1.PublicPEM != k2.PublicPEM {
		t.Error("a second start made a new key instead of reading the first")
	}
	if !strings.Contains(k1.PublicPEM, "BEGIN PUBLIC KEY") || strings.Contains(k1.PublicPEM, "PRIVATE") {
		t.Errorf("public half = %q", k1.PublicPEM)
	}
	if _, err := LoadKey(filepath.Join(dir, "missing.pem"), false); err == nil {
		t.Error("a missing key file given by the operator was not an error")
	}
	bad := filepath.Join(dir, "bad.pem")
	_ = os.WriteFile(bad, []byte("not a key"), 0o600)
	if _, err := LoadKey(bad, true); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad key file: %v, want an error naming it", err)
	}
}

func TestBuildSignedBundle(t *testing.T) {
	key, other := mustKey(t, "k.pem"), mustKey(t, "other.pem")
	cfg := &meridian.Config{
		Targets: []meridian.Target{{Name: "edge-a", Provider: meridian.ProviderEdge}, {Name: "aws-x", Provider: meridian.ProviderAWS}},
		Workloads: []meridian.Workload{{Name: "cam", Network: meridian.WorkloadNetwork{Ingress: []meridian.TrafficRule{
			{From: []meridian.TrafficPeer{{CIDR: "192.168.0.0/16"}}, Ports: []meridian.Port{{Protocol: meridian.ProtocolTCP, Port: 8554}}}}}},
			{Name: "api", Network: meridian.WorkloadNetwork{Ingress: []meridian.TrafficRule{
				{From: []meridian.TrafficPeer{{Workload: "cam"}}, Ports: []meridian.Port{{Protocol: meridian.ProtocolTCP, Port: 443}}}}}}},
		Policies: map[string]string{"policies/p.rego": "package meridian.org.workload.p\n\ndeny contains 1 if false\n",
			"policies/p_test.rego": "package meridian.org.workload.p_test\n"},
	}
	plan := &meridian.Plan{Placements: []meridian.Placement{{Workload: "cam", Target: "edge-a", Replicas: 2}, {Workload: "api", Target: "aws-x", Replicas: 1}}}
	head := Head{Revision: Revision("c0ffee0123456789", "plan-abcdef0123456"), Commit: "c0ffee0123456789", PlanID: "plan-abcdef0123456"}
	data := NewSiteData("edge-a", head, cfg, plan, meridian.ResolveFlows(cfg.Targets, cfg.Workloads, plan.Placements))
	lib := map[string]string{"builtin:lib/x.rego": "package meridian.lib.x\n\ny := 1\n"}
	for k, v := range cfg.Policies {
		lib[k] = v
	}
	b, err := Build(data, lib, key, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := read(b.Body, key.ID, key)
	if err != nil {
		t.Fatalf("an agent with the server's public key refused the bundle: %v", err)
	}
	if got.Manifest.Revision != "c0ffee012345-plan-abcdef0" {
		t.Errorf("revision %q", got.Manifest.Revision)
	}
	var paths []string
	for _, m := range got.Modules {
		paths = append(paths, m.Path)
	}
	if want := []string{"/builtin/lib/x.rego", "/policies/p.rego"}; !cmp.Equal(paths, want) {
		t.Errorf("modules %v, want %v (tests left out)", paths, want)
	}
	edgeData := got.Data["meridian"].(map[string]any)["edge"].(map[string]any)
	ws := edgeData["workloads"].([]any)
	if len(ws) != 1 || ws[0].(map[string]any)["name"] != "cam" || edgeData["target"].(map[string]any)["name"] != "edge-a" {
		t.Errorf("site data = %v, want only edge-a's placement", edgeData)
	}
	// The site's flows: the cameras' CIDR into cam on edge-a, and cam's
	// traffic out to api on aws-x; nothing of aws-x's own ingress.
	var flows meridian.SiteFlows
	if raw, err := json.Marshal(edgeData["flows"]); err != nil || json.Unmarshal(raw, &flows) != nil {
		t.Fatalf("flows %v: %v", edgeData["flows"], err)
	}
	if len(flows.Ingress) != 1 || flows.Ingress[0].From.CIDRs[0] != "192.168.0.0/16" || flows.Ingress[0].To.Workload != "cam" ||
		len(flows.Egress) != 1 || flows.Egress[0].To.Target != "aws-x" || flows.Egress[0].Ports[0].Port != 443 {
		t.Errorf("edge-a's flows = %+v, want the camera CIDR in and cam -> api on aws-x out", flows)
	}
	// An agent that trusts another key refuses it.
	if _, err := read(b.Body, key.ID, other); err == nil {
		t.Error("a bundle verified under a key that did not sign it")
	}
	// The same inputs give the same ETag; other data another.
	b2, _ := Build(data, lib, key, time.Unix(0, 0))
	data.Workloads = nil
	b3, _ := Build(data, lib, key, time.Unix(0, 0))
	if b.ETag == b3.ETag || !strings.HasPrefix(b.ETag, `"`) {
		t.Errorf("ETags %s, %s, %s: want quoted, and different for different data", b.ETag, b2.ETag, b3.ETag)
	}
}

func TestAssess(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	head := Head{Revision: "r2", Commit: "c2", PlanID: "p2", Since: t0}
	const stale, behind = time.Minute, 30 * time.Second
	cases := map[string]struct {
		reason string
		site   store.EdgeSite
		now    time.Time
		health string
		event  meridian.EventType
		since  time.Time
	}{
		"never seen": {reason: "a site that never reported is pending, not stale or behind, and raises nothing",
			site: store.EdgeSite{Site: "s"}, now: t0.Add(time.Hour), health: store.EdgePending, since: t0},
		"on head": {reason: "a site running the head is ok; from pending that is no recovery",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r2", LastSeen: t0}, now: t0.Add(time.Second), health: store.EdgeOK},
		"syncing": {reason: "behind for less than the grace period is a rollout under way: ok, no event",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0, Health: store.EdgeOK}, now: t0.Add(10 * time.Second), health: store.EdgeOK, since: t0},
		"behind": {reason: "past the grace period it is behind, once",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0.Add(20 * time.Second), Health: store.EdgeOK}, now: t0.Add(40 * time.Second),
			health: store.EdgeBehind, event: meridian.EventEdgeSiteBehind, since: t0},
		"still behind": {reason: "an announced state is not announced again",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0.Add(40 * time.Second), Health: store.EdgeBehind, BehindSince: t0},
			now:  t0.Add(50 * time.Second), health: store.EdgeBehind, since: t0},
		"failing": {reason: "a bundle error outranks being behind",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0.Add(40 * time.Second), ErrorCode: "bundle_error", Health: store.EdgeBehind},
			now:  t0.Add(41 * time.Second), health: store.EdgeFailing, event: meridian.EventEdgeSiteFailing, since: t0},
		"stale": {reason: "a site silent past the window is stale whatever it said last",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0, ErrorCode: "bundle_error", Health: store.EdgeFailing},
			now:  t0.Add(2 * time.Minute), health: store.EdgeStale, event: meridian.EventEdgeSiteStale, since: t0},
		"recovered": {reason: "back on the head after trouble is announced",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r2", LastSeen: t0.Add(time.Minute), Health: store.EdgeStale, BehindSince: t0},
			now:  t0.Add(time.Minute), health: store.EdgeOK, event: meridian.EventEdgeSiteRecovered},
		"retired": {reason: "a site whose last credential was revoked is announced retired, not stale, whatever it said last",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0, Health: store.EdgeStale, BehindSince: t0, RetiredAt: t0.Add(time.Minute)},
			now:  t0.Add(time.Hour), health: store.EdgeRetired, event: meridian.EventEdgeSiteRetired, since: t0},
		"still retired": {reason: "a retired site is assessed no more: no stale event however long it stays silent",
			site: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: t0, Health: store.EdgeRetired, RetiredAt: t0.Add(time.Minute)},
			now:  t0.Add(24 * time.Hour), health: store.EdgeRetired},
		"enrolled again": {reason: "a retired site enrolled again is pending, without an event: its alerts ended with the retirement",
			site: store.EdgeSite{Site: "s", Health: store.EdgeRetired, CreatedAt: t0.Add(time.Hour)}, now: t0.Add(2 * time.Hour),
			health: store.EdgePending, since: t0.Add(time.Hour)},
		"enrolled before the retirement was announced": {reason: "the stale alert of the old agent ends: its retirement is announced now",
			site: store.EdgeSite{Site: "s", Health: store.EdgeStale, CreatedAt: t0.Add(time.Hour)}, now: t0.Add(2 * time.Hour),
			health: store.EdgePending, event: meridian.EventEdgeSiteRetired, since: t0.Add(time.Hour)},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, evs := assess(tc.site, head, tc.now, stale, behind)
			if got.Health != tc.health {
				t.Errorf("%s\nhealth = %q, want %q", tc.reason, got.Health, tc.health)
			}
			if !got.BehindSince.Equal(tc.since) {
				t.Errorf("%s\nbehind since %v, want %v", tc.reason, got.BehindSince, tc.since)
			}
			var typ meridian.EventType
			if len(evs) == 1 {
				typ = evs[0].Type
				var p meridian.EdgeSiteHealth
				if err := json.Unmarshal(evs[0].Payload, &p); err != nil || p.Site != "s" || p.HeadRevision != "r2" || evs[0].Target != "s" {
					t.Errorf("event %+v payload %+v", evs[0], p)
				}
			}
			if len(evs) > 1 || typ != tc.event {
				t.Errorf("%s\nevents = %+v, want %q", tc.reason, evs, tc.event)
			}
		})
	}
}

func TestAgentConfigRefusesBadServer(t *testing.T) {
	key := mustKey(t, "k.pem")
	for _, u := range []string{"", "ftp://x", "http://", "https://user:pw@host", "https://h/?q=1", "not a url"} {
		if _, err := AgentConfig(AgentConfigInput{Site: "edge-a", Server: u, Key: key}); err == nil {
			t.Errorf("server %q accepted", u)
		}
	}
	if _, err := AgentConfig(AgentConfigInput{Site: "Edge A", Server: "https://h", Key: key}); err == nil {
		t.Error("site name with a space and capitals accepted")
	}
	out, err := AgentConfig(AgentConfigInput{Site: "edge-a", Server: "https://m.example.com/base/", Credential: "mrde_x", Key: key})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"url: https://m.example.com/base/edge/v1", "resource: bundles/edge-a", "partition_name: edge-a",
		"long_polling_timeout_seconds: 30", "keyid: " + key.ID, "BEGIN PUBLIC KEY"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("agent config lacks %q:\n%s", want, out)
		}
	}
}

// TestStoredView: what `meridian edge sites` shows of a stored record,
// without the server's head.
func TestStoredView(t *testing.T) {
	now := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		rec           store.EdgeSite
		health        string
		onHead        bool
		behindSeconds float64
		wantError     bool
	}{
		"never reported": {rec: store.EdgeSite{Site: "s"}, health: HealthPending},
		"on the head": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-time.Second), Health: store.EdgeOK},
			health: store.EdgeOK, onHead: true},
		"rolling out": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-time.Second), Health: store.EdgeOK,
			BehindSince: now.Add(-10 * time.Second)}, health: HealthSyncing, behindSeconds: 10},
		"behind": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-time.Second), Health: store.EdgeBehind,
			BehindSince: now.Add(-time.Hour)}, health: store.EdgeBehind, behindSeconds: 3600},
		"failing": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-time.Second), Health: store.EdgeFailing,
			ErrorCode: "bundle_error", ErrorMessage: "signature"}, health: store.EdgeFailing, onHead: true, wantError: true},
		// Assessed ok, but silent since: no server is running to say so.
		"silent": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-10 * time.Minute), Health: store.EdgeOK},
			health: store.EdgeStale, onHead: true},
		// Revoked while no server ran to announce it: retired all the same.
		"retired": {rec: store.EdgeSite{Site: "s", ActiveRevision: "r1", LastSeen: now.Add(-10 * time.Minute), Health: store.EdgeStale,
			BehindSince: now.Add(-time.Hour), RetiredAt: now.Add(-time.Minute)}, health: store.EdgeRetired},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			v := StoredView(c.rec, now, 3*time.Minute)
			if v.Health != c.health || v.OnHead != c.onHead || v.BehindSeconds != c.behindSeconds || (v.Error != nil) != c.wantError {
				t.Errorf("view = %+v, want health %s, on head %v, behind %vs, error %v", v, c.health, c.onHead, c.behindSeconds, c.wantError)
			}
		})
	}
}
