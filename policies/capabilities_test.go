package policies

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

// refusedCall is the config error for a denied builtin at file:line.
func refusedCall(file string, line int, name string) meridian.ConfigError {
	reason, _ := deniedBuiltin(name)
	return meridian.ConfigError{File: file, Line: line, Message: fmt.Sprintf(
		"builtin %s is not allowed: policies must be deterministic and offline (%s)", name, reason)}
}

// TestDeniedBuiltinsRefused compiles policies that call a denied builtin
// through both compile paths: New, which every plan uses for the config
// repo's policies (a pull request's head policies reach it the same way, as
// the head's Config.Policies), and RunTests, behind `meridian policy test`.
func TestDeniedBuiltinsRefused(t *testing.T) {
	cases := map[string]struct {
		reason string
		org    map[string]string
		want   meridian.ConfigErrors
	}{
		"HTTPSendInWorkloadRule": {
			reason: "http.send would let a policy reach the network.",
			org: map[string]string{"policies/org.rego": `package meridian.org.workload.org

deny contains f if {
	r := http.send({"method": "GET", "url": "http://127.0.0.1:1/"})
	r.status_code == 200
	f := {"id": "X", "msg": "m"}
}
`},
			want: meridian.ConfigErrors{refusedCall("policies/org.rego", 4, "http.send")},
		},
		"LookupInPlacementRule": {
			reason: "DNS lookups reach the network and change over time.",
			org: map[string]string{"policies/dns.rego": `package meridian.org.placement.dns

deny contains {"id": "X", "msg": "m"} if {
	count(net.lookup_ip_addr("example.com")) > 0
}
`},
			want: meridian.ConfigErrors{refusedCall("policies/dns.rego", 4, "net.lookup_ip_addr")},
		},
		"ClockInHelperPackage": {
			reason: "A helper package is compiled too, and the clock makes plans unreproducible.",
			org: map[string]string{
				"policies/lib/clock.rego": "package meridian.org.lib.clock\n\nnow := time.now_ns()\n",
				"policies/w.rego":         "package meridian.org.workload.w\n\nimport data.meridian.org.lib.clock\n\nwarn contains {\"id\": \"X\", \"msg\": \"m\"} if clock.now > 0\n",
			},
			want: meridian.ConfigErrors{refusedCall("policies/lib/clock.rego", 3, "time.now_ns")},
		},
		"RuntimeNestedInComprehension": {
			reason: "opa.runtime exposes the server's environment; a call nested in a comprehension is found too.",
			org: map[string]string{"policies/env.rego": `package meridian.org.workload.env

info contains {"id": "X", "msg": k} if {
	some k in [x |
		some x, _ in opa.runtime().env
	]
}
`},
			want: meridian.ConfigErrors{refusedCall("policies/env.rego", 5, "opa.runtime")},
		},
		"EveryCallReported": {
			reason: "Each denied call is reported at its own line, in file order.",
			org: map[string]string{
				"policies/a.rego": "package meridian.org.workload.a\n\nx := rand.intn(\"s\", 10)\n\ny := uuid.rfc4122(\"s\")\n",
				"policies/b.rego": "package meridian.org.workload.b\n\nz := http.send({})\n",
			},
			want: meridian.ConfigErrors{
				refusedCall("policies/a.rego", 3, "rand.intn"),
				refusedCall("policies/a.rego", 5, "uuid.rfc4122"),
				refusedCall("policies/b.rego", 3, "http.send"),
			},
		},
		"OwnFunctionWithABuiltinName": {
			reason: "A rule of the policy's own named like a builtin is not the builtin, and is allowed.",
			org: map[string]string{"policies/own.rego": `package meridian.org.workload.own

http.send(x) := x

warn contains {"id": "X", "msg": http.send("m")} if true
`},
		},
	}
	for name, tc := range cases {
		for _, path := range []string{"New", "RunTests"} {
			t.Run(name+"/"+path, func(t *testing.T) {
				var err error
				switch path {
				case "New":
					_, err = New(context.Background(), meridian.DefaultSettings(), tc.org)
				case "RunTests":
					_, err = RunTests(context.Background(), tc.org)
				}
				var got meridian.ConfigErrors
				if err != nil && !errors.As(err, &got) {
					t.Fatalf("%s error %v (%T) is not ConfigErrors", path, err, err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("%s\n%s(...) errors: -want, +got:\n%s", tc.reason, path, diff)
				}
			})
		}
	}
}

// TestDeniedBuiltinInTestFile covers the test runner on its own: a test
// file may not call a denied builtin either, nor mock one with `with`.
func TestDeniedBuiltinInTestFile(t *testing.T) {
	_, err := RunTests(context.Background(), map[string]string{
		"policies/t_test.rego": "package meridian.org.workload.t_test\n\ntest_now if {\n\ttime.now_ns() > 0\n}\n\ntest_mock if {\n\ttrue with time.now_ns as 1\n}\n",
	})
	var got meridian.ConfigErrors
	if !errors.As(err, &got) {
		t.Fatalf("RunTests error = %v (%T), want ConfigErrors", err, err)
	}
	want := meridian.ConfigErrors{
		refusedCall("policies/t_test.rego", 4, "time.now_ns"),
		refusedCall("policies/t_test.rego", 8, "time.now_ns"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RunTests errors: -want, +got:\n%s", diff)
	}
}

// TestHTTPSendNeverSends proves the refusal happens before any request: a
// policy (or a policy test) aimed at a live loopback server never reaches
// it, whichever way it is run.
func TestHTTPSendNeverSends(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"deny": true}`)
	}))
	defer srv.Close()
	org := map[string]string{
		"policies/exfil.rego": fmt.Sprintf(`package meridian.org.placement.exfil

deny contains {"id": "X", "msg": "m"} if {
	http.send({"method": "POST", "url": %q, "body": input}).body.deny
}
`, srv.URL),
		"policies/exfil_test.rego": fmt.Sprintf(`package meridian.org.placement.exfil_test

test_send if {
	http.send({"method": "GET", "url": %q}).status_code == 200
}
`, srv.URL),
	}
	ctx := context.Background()
	e, err := New(ctx, meridian.DefaultSettings(), org)
	if err == nil {
		_, _ = e.CheckPlacements(ctx, []meridian.Workload{apiWorkload()}, []meridian.Target{euTarget()})
		t.Error("New accepted a policy that calls http.send")
	}
	if _, err := RunTests(ctx, org); err == nil {
		t.Error("RunTests accepted a policy that calls http.send")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("policies sent %d HTTP request(s) to %s, want 0", n, srv.URL)
	}
}

// TestCapabilities checks the compiler's capabilities against OPA's own
// list, so that an OPA upgrade that adds a non-deterministic builtin cannot
// slip in unreviewed.
func TestCapabilities(t *testing.T) {
	caps := capabilities()
	offered := map[string]bool{}
	for _, b := range caps.Builtins {
		offered[b.Name] = true
	}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		_, denied := deniedBuiltin(b.Name)
		if b.Nondeterministic && !denied {
			t.Errorf("OPA marks %s non-deterministic, but it is not in deniedBuiltin: decide and document it", b.Name)
		}
		if strings.HasPrefix(b.Name, "net.") && !denied {
			t.Errorf("%s is not denied", b.Name)
		}
		if offered[b.Name] == denied {
			t.Errorf("%s: offered = %v, denied = %v", b.Name, offered[b.Name], denied)
		}
	}
	for _, name := range []string{"http.send", "net.lookup_ip_addr", "time.now_ns", "opa.runtime", "rand.intn", "uuid.rfc4122"} {
		if offered[name] {
			t.Errorf("capabilities offer %s", name)
		}
	}
	if caps.AllowNet == nil || len(caps.AllowNet) != 0 {
		t.Errorf("AllowNet = %#v, want empty (no host), not nil (any host)", caps.AllowNet)
	}
}
