package terraform_test

import (
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/meridianhq/meridian/terraform"
)

func examplesDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "examples", "hybrid", "terraform")
}

// hclModule is a parsed module folder.
type hclModule struct {
	resources map[string]*hclsyntax.Block // "type.name"
	blocks    []*hclsyntax.Block
	files     map[string]*hclsyntax.Body
}

func parseModule(t *testing.T, dir string) hclModule {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	if len(paths) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	p := hclparse.NewParser()
	m := hclModule{resources: map[string]*hclsyntax.Block{}, files: map[string]*hclsyntax.Body{}}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, diags := p.ParseHCL(src, path)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", path, diags.Error())
		}
		if got := hclwrite.Format(src); string(got) != string(src) {
			t.Errorf("%s is not formatted as terraform fmt would", path)
		}
		body := f.Body.(*hclsyntax.Body)
		m.files[filepath.Base(path)] = body
		for _, b := range body.Blocks {
			m.blocks = append(m.blocks, b)
			if b.Type == "resource" && len(b.Labels) == 2 {
				m.resources[b.Labels[0]+"."+b.Labels[1]] = b
			}
		}
	}
	return m
}

// attr returns a resource's attribute, also inside nested blocks
// ("rotation_policy.automatic.time_before_expiry").
func attr(b *hclsyntax.Block, path string) *hclsyntax.Attribute {
	parts := strings.Split(path, ".")
	body := b.Body
	for _, p := range parts[:len(parts)-1] {
		var next *hclsyntax.Body
		for _, nb := range body.Blocks {
			if nb.Type == p {
				next = nb.Body
			}
		}
		if next == nil {
			return nil
		}
		body = next
	}
	return body.Attributes[parts[len(parts)-1]]
}

// TestReferenceModules checks the production modules, which cannot be run
// here (their providers cannot be downloaded): they parse, are formatted,
// have the resources and settings the issue asks for, and keep state in a
// remote backend with locking.
func TestReferenceModules(t *testing.T) {
	cases := map[string]struct {
		backend string
		want    map[string][]string // resource -> attributes that must be set
	}{
		"aws": {backend: "s3", want: map[string][]string{
			"aws_kms_key.workload":              {"enable_key_rotation", "deletion_window_in_days", "tags", "policy"},
			"aws_cloudwatch_log_group.workload": {"retention_in_days", "kms_key_id", "tags"},
			"aws_security_group.workload":       {"vpc_id", "tags"},
			"aws_security_group_rule.workload":  {"security_group_id", "type", "protocol", "from_port", "to_port", "cidr_blocks", "ipv6_cidr_blocks"},
		}},
		"azure": {backend: "azurerm", want: map[string][]string{
			"azurerm_key_vault.target":                 {"purge_protection_enabled", "sku_name"},
			"azurerm_key_vault_key.workload":           {"key_type", "rotation_policy.automatic.time_before_expiry", "tags"},
			"azurerm_log_analytics_workspace.workload": {"retention_in_days", "tags"},
			"azurerm_network_security_group.workload":  {"tags"},
			"azurerm_network_security_rule.workload": {"priority", "direction", "protocol", "destination_port_range",
				"source_address_prefixes", "destination_address_prefixes"},
		}},
		"gcp": {backend: "gcs", want: map[string][]string{
			"google_kms_crypto_key.workload":                {"rotation_period", "version_template.protection_level", "labels"},
			"google_logging_project_bucket_config.workload": {"retention_days", "cmek_settings"},
			"google_compute_firewall.workload":              {"network", "direction", "source_ranges", "destination_ranges", "allow.protocol", "allow.ports"},
		}},
		"offline": {backend: "local", want: map[string][]string{
			"terraform_data.key":           {"input"},
			"terraform_data.log_group":     {"input"},
			"terraform_data.deployment":    {"input"},
			"terraform_data.firewall_rule": {"input"},
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := parseModule(t, filepath.Join(examplesDir(t), name))
			for res, attrs := range tc.want {
				b, ok := m.resources[res]
				if !ok {
					t.Errorf("no resource %s", res)
					continue
				}
				for _, a := range attrs {
					if attr(b, a) == nil && !hasDynamic(b, a) {
						t.Errorf("%s does not set %s", res, a)
					}
				}
			}
			var backend string
			for _, b := range m.blocks {
				if b.Type == "terraform" {
					for _, nb := range b.Body.Blocks {
						if nb.Type == "backend" && len(nb.Labels) == 1 {
							backend = nb.Labels[0]
						}
					}
				}
			}
			if backend != tc.backend {
				t.Errorf("backend %q, want %q", backend, tc.backend)
			}
			var checks int
			for _, b := range m.blocks {
				if b.Type == "check" {
					checks++
				}
			}
			if checks == 0 {
				t.Error("no check block")
			}
		})
	}
}

func hasDynamic(b *hclsyntax.Block, name string) bool {
	for _, nb := range b.Body.Blocks {
		if nb.Type == "dynamic" && len(nb.Labels) == 1 && nb.Labels[0] == name {
			return true
		}
	}
	return false
}

// TestModulesReadOnlyMeridianVariables checks that every module reads only
// the attributes Meridian writes into meridian.auto.tfvars.json, and that
// they all declare the same target and placements variables: a typo in a
// reference module would otherwise surface only in production.
func TestModulesReadOnlyMeridianVariables(t *testing.T) {
	written := map[string]map[string]bool{
		"target":        jsonFields(reflect.TypeFor[terraform.TargetVars]()),
		"placements":    jsonFields(reflect.TypeFor[terraform.PlacementVars]()),
		"network_rules": jsonFields(reflect.TypeFor[terraform.NetworkRuleVars]()),
	}
	var first []byte
	for _, name := range []string{"offline", "aws", "azure", "gcp"} {
		dir := filepath.Join(examplesDir(t), name)
		vars, err := os.ReadFile(filepath.Join(dir, "variables.tf"))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = vars
		} else if diff := cmp.Diff(string(first), string(vars)); diff != "" {
			t.Errorf("%s/variables.tf differs from offline/variables.tf (-offline +%s):\n%s", name, name, diff)
		}
		m := parseModule(t, dir)
		for file, body := range m.files {
			for _, b := range body.Blocks {
				each := eachOf(b)
				hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
					e, ok := n.(*hclsyntax.ScopeTraversalExpr)
					if !ok {
						return nil
					}
					checkTraversal(t, name+"/"+file, e.Traversal, written, each)
					return nil
				})
			}
		}
	}
}

// eachOf is what a block's for_each iterates: "network_rules" when it
// reads var.network_rules or a local built from it (named *_rules),
// "placements" otherwise (every other for_each in these modules iterates
// placements or a filter of them).
func eachOf(b *hclsyntax.Block) string {
	fe, ok := b.Body.Attributes["for_each"]
	if !ok {
		return "placements"
	}
	for _, tr := range fe.Expr.Variables() {
		names := traversalNames(tr)
		if len(names) >= 2 && (names[0] == "var" && names[1] == "network_rules" || names[0] == "local" && strings.HasSuffix(names[1], "_rules")) {
			return "network_rules"
		}
	}
	return "placements"
}

// moduleFields are what the modules add to a network rule themselves:
// Azure numbers their priorities.
var moduleFields = map[string]bool{"priority": true}

// checkTraversal checks var.target.X and each.value.X reads against what
// Meridian writes. Reads through for-expression variables are not
// checked.
func checkTraversal(t *testing.T, where string, tr hcl.Traversal, written map[string]map[string]bool, each string) {
	t.Helper()
	names := traversalNames(tr)
	switch {
	case len(names) >= 3 && names[0] == "var" && names[1] == "target":
		if !written["target"][names[2]] {
			t.Errorf("%s reads var.target.%s, which Meridian does not write", where, names[2])
		}
	case len(names) >= 3 && names[0] == "each" && names[1] == "value":
		if !written[each][names[2]] && !(each == "network_rules" && moduleFields[names[2]]) {
			t.Errorf("%s reads each.value.%s of %s, which Meridian does not write", where, names[2], each)
		}
	}
}

func traversalNames(tr hcl.Traversal) []string {
	var out []string
	for _, step := range tr {
		switch s := step.(type) {
		case hcl.TraverseRoot:
			out = append(out, s.Name)
		case hcl.TraverseAttr:
			out = append(out, s.Name)
		default:
			return out
		}
	}
	return out
}

func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = true
	}
	return out
}

// TestVariablesMatchWhatMeridianWrites checks the declared object types
// list exactly the fields Meridian writes, so Terraform never rejects
// meridian.auto.tfvars.json for an unexpected or missing attribute.
func TestVariablesMatchWhatMeridianWrites(t *testing.T) {
	m := parseModule(t, filepath.Join(examplesDir(t), "offline"))
	for _, b := range m.blocks {
		if b.Type != "variable" || len(b.Labels) != 1 {
			continue
		}
		var want reflect.Type
		switch b.Labels[0] {
		case "target":
			want = reflect.TypeFor[terraform.TargetVars]()
		case "placements":
			want = reflect.TypeFor[terraform.PlacementVars]()
		case "network_rules":
			want = reflect.TypeFor[terraform.NetworkRuleVars]()
		default:
			continue
		}
		typ := b.Body.Attributes["type"]
		var declared []string
		hclsyntax.VisitAll(typ.Expr, func(n hclsyntax.Node) hcl.Diagnostics {
			if oc, ok := n.(*hclsyntax.ObjectConsExpr); ok {
				for _, item := range oc.Items {
					if k, ok := item.KeyExpr.(*hclsyntax.ObjectConsKeyExpr); ok {
						declared = append(declared, hcl.ExprAsKeyword(k.Wrapped))
					}
				}
			}
			return nil
		})
		var fields []string
		for f := range jsonFields(want) {
			fields = append(fields, f)
		}
		sort.Strings(declared)
		sort.Strings(fields)
		if diff := cmp.Diff(fields, declared); diff != "" {
			t.Errorf("variable %q declares other fields than Meridian writes (-written +declared):\n%s", b.Labels[0], diff)
		}
	}
}
