package terraform

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// BackendFile is the file Meridian adds to a module that declares no
// backend, when the state must live elsewhere than the workspace (see
// DeclaredBackend and terraform/workflow's Backend).
const BackendFile = "meridian_backend.tf"

// BackendBlock returns BackendFile's content: an empty backend block of
// type typ, configured by -backend-config settings and the environment.
func BackendBlock(typ string) []byte {
	return fmt.Appendf(nil, "# Written by Meridian: the module declares no backend, so its state is kept in the\n"+
		"# %s backend, shared by every replica of the server. Settings come from -backend-config\n"+
		"# and the environment, never from this file.\nterraform {\n  backend %q {}\n}\n", typ, typ)
}

// rootSchema and terraformSchema find `terraform { backend "TYPE" {} }`
// and `terraform { cloud {} }` blocks, ignoring everything else.
var (
	rootSchema      = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}}
	terraformSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "backend", LabelNames: []string{"type"}}, {Type: "cloud"}}}
)

// DeclaredBackend returns the backend type the module's root files
// declare ("cloud" for a cloud block), or "" when none does: Terraform
// then keeps the state in the working folder. Files that do not parse are
// reported as errors naming file and line, as Terraform would.
func (f Files) DeclaredBackend() (string, error) {
	names := make([]string, 0, len(f))
	for name := range f {
		// Only the root folder's files make up the root module.
		if !strings.Contains(name, "/") && (strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	p := hclparse.NewParser()
	found := ""
	for _, name := range names {
		var file *hcl.File
		var diags hcl.Diagnostics
		if path.Ext(name) == ".json" {
			file, diags = p.ParseJSON(f[name], name)
		} else {
			file, diags = p.ParseHCL(f[name], name)
		}
		if diags.HasErrors() {
			return "", fmt.Errorf("module file %s", diags.Error())
		}
		content, _, diags := file.Body.PartialContent(rootSchema)
		if diags.HasErrors() {
			return "", fmt.Errorf("module file %s", diags.Error())
		}
		for _, tb := range content.Blocks {
			inner, _, diags := tb.Body.PartialContent(terraformSchema)
			if diags.HasErrors() {
				return "", fmt.Errorf("module file %s", diags.Error())
			}
			for _, b := range inner.Blocks {
				switch b.Type {
				case "cloud":
					found = "cloud"
				case "backend":
					found = b.Labels[0]
				}
			}
		}
	}
	return found, nil
}
