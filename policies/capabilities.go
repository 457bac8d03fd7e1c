package policies

import (
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/meridianhq/meridian"
)

// deniedBuiltin reports whether policies may not call the OPA builtin name,
// and why. Policies must be deterministic and offline: the same config repo
// at the same commit gives the same plan on any machine, and a policy, which
// a pull request can change, can neither reach the network nor read the
// host. The list is explicit so that it is reviewed: TestCapabilities fails
// when an OPA upgrade brings a builtin that OPA marks non-deterministic and
// this function does not name.
func deniedBuiltin(name string) (reason string, denied bool) {
	switch name {
	case "http.send":
		return "it sends HTTP requests", true
	case "net.lookup_ip_addr":
		return "it makes DNS queries", true
	case "opa.runtime":
		return "it reads the server's environment and configuration", true
	case "time.now_ns":
		return "it reads the clock", true
	case "rand.intn", "uuid.rfc4122":
		return "it returns random values", true
	case "io.jwt.decode_verify":
		return "it checks token expiry against the clock", true
	case "io.jwt.encode_sign", "io.jwt.encode_sign_raw":
		return "its signatures are randomised", true
	case "json.match_schema", "json.verify_schema":
		return "a schema $ref can fetch remote documents", true
	case "crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options":
		return "it checks certificate validity against the clock", true
	}
	// The rest of net.* (net.cidr_*) is pure, but Meridian's inputs carry no
	// addresses to use it on, net.cidr_expand can build billions of strings
	// from one short argument, and denying the whole namespace keeps any
	// future network builtin under it out too.
	if strings.HasPrefix(name, "net.") {
		return "net.* builtins are not available to policies", true
	}
	return "", false
}

// capabilities returns what the Rego compiler offers policies: this OPA
// version's builtins minus the denied ones, and no network hosts at all
// (AllowNet empty rather than nil, which would mean any host).
func capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	caps.Builtins = slices.DeleteFunc(caps.Builtins, func(b *ast.Builtin) bool {
		_, denied := deniedBuiltin(b.Name)
		return denied
	})
	caps.AllowNet = []string{}
	return caps
}

// newCompiler returns a Rego v1 compiler restricted to caps. Every Rego the
// package compiles, the engine's policies and the test runner's, goes
// through it.
func newCompiler(caps *ast.Capabilities) *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(caps).
		WithDefaultRegoVersion(ast.RegoV1)
}

// checkBuiltins reports every call to, or `with` replacement of, a denied
// builtin in mods, at file:line. The compiler would refuse them anyway, as
// undefined functions; checking first gives the reason instead.
func checkBuiltins(mods map[string]*ast.Module) meridian.ConfigErrors {
	var errs meridian.ConfigErrors
	for _, path := range sortedKeys(mods) {
		m := mods[path]
		// A name the module defines (a rule, or the first part of a rule's
		// ref head) or imports shadows a builtin of that namespace: http.send
		// then means the module's own function, not OPA's.
		own := map[ast.Var]bool{}
		for _, r := range m.Rules {
			if v, ok := r.Head.Ref()[0].Value.(ast.Var); ok {
				own[v] = true
			}
		}
		for _, imp := range m.Imports {
			own[imp.Name()] = true
		}
		check := func(ref ast.Ref, loc *ast.Location) {
			head, ok := ref[0].Value.(ast.Var)
			if !ok || own[head] {
				return
			}
			name := ref.String()
			if reason, denied := deniedBuiltin(name); denied {
				errs = append(errs, errorAt(path, loc, fmt.Sprintf(
					"builtin %s is not allowed: policies must be deterministic and offline (%s)", name, reason)))
			}
		}
		ast.WalkNodes(m, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Expr:
				if n.IsCall() {
					check(n.Operator(), n.Location)
				}
				for _, w := range n.With {
					if ref, ok := w.Target.Value.(ast.Ref); ok {
						check(ref, w.Location)
					}
				}
			case *ast.Term:
				if call, ok := n.Value.(ast.Call); ok {
					if ref, ok := call[0].Value.(ast.Ref); ok {
						check(ref, n.Location)
					}
				}
			}
			return false
		})
	}
	// Report in file order: the walk visits an expression before the calls
	// nested in it, which may sit on later lines.
	slices.SortStableFunc(errs, func(a, b meridian.ConfigError) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		return a.Line - b.Line
	})
	return errs
}
