package config

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/meridianhq/meridian"
)

func TestValidateTerraform(t *testing.T) {
	const target = `apiVersion: meridian/v1
kind: Target
name: aws-x
provider: aws
region: eu-central-1
jurisdiction: eu
log_retention_max_days: 30
pricing:
  catalog: true
`
	module := fstest.MapFile{Data: []byte(`resource "terraform_data" "x" {}`)}
	cases := map[string]struct {
		reason string
		block  string
		files  fstest.MapFS
		want   []string
	}{
		"valid": {
			reason: "a module folder with .tf files, backend settings and vars is accepted",
			block:  "engine: terraform\nterraform:\n  module: tf/aws\n  backend_config:\n    bucket: b\n  vars:\n    project: p\n",
			files:  fstest.MapFS{"tf/aws/main.tf": &module},
		},
		"no terraform block": {
			reason: "a Terraform target without a module is GitOps-only, not an error",
			block:  "engine: terraform\n",
		},
		"missing folder": {
			reason: "the module must exist in the repo, reported at the field",
			block:  "terraform:\n  module: tf/nope\n",
			want:   []string{`targets/t.yaml:11: terraform.module: folder "tf/nope" not found in the config repo`},
		},
		"no tf files": {
			reason: "a folder without Terraform files is a mistake",
			block:  "terraform:\n  module: tf/empty\n",
			files:  fstest.MapFS{"tf/empty/README.md": &fstest.MapFile{Data: []byte("x")}},
			want:   []string{`targets/t.yaml:11: terraform.module: folder "tf/empty" holds no .tf or .tf.json files`},
		},
		"escapes the repo": {
			reason: "the module is copied from the repo; ../ would reach outside it",
			block:  "terraform:\n  module: ../elsewhere\n",
			want:   []string{`targets/t.yaml:11: terraform.module: must be a folder inside the config repo, relative to its root (e.g. terraform/aws), got "../elsewhere"`},
		},
		"required": {
			reason: "a terraform block must name its module",
			block:  "terraform:\n  vars:\n    a: b\n",
			want:   []string{`targets/t.yaml:10: terraform.module: required: the root module's folder, relative to the config root`},
		},
		"reserved and bad vars": {
			reason: "vars may not shadow what Meridian writes, and must be variable names",
			block:  "terraform:\n  module: tf/aws\n  vars:\n    placements: x\n    \"9lives\": y\n",
			files:  fstest.MapFS{"tf/aws/main.tf": &module},
			want: []string{
				`targets/t.yaml:13: terraform.vars.placements: "placements" is set by Meridian (the placements on this target); choose another name`,
				`targets/t.yaml:14: terraform.vars.9lives: must be a Terraform variable name (letters, digits, _ and -), got "9lives"`,
			},
		},
		"crossplane": {
			reason: "only Terraform targets take a module",
			block:  "engine: crossplane\nterraform:\n  module: tf/aws\n",
			files:  fstest.MapFS{"tf/aws/main.tf": &module},
			want:   []string{`targets/t.yaml:11: terraform: only targets with engine: terraform take a Terraform module, got engine "crossplane"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"targets/t.yaml": &fstest.MapFile{Data: []byte(target + tc.block)}}
			for p, f := range tc.files {
				fsys[p] = f
			}
			cfg, err := Load(fsys)
			var got []string
			if ces, ok := err.(meridian.ConfigErrors); ok {
				for _, e := range ces {
					if strings.HasPrefix(e.Field, "terraform") {
						got = append(got, e.Error())
					}
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
			if name == "valid" && (cfg.Targets[0].Terraform == nil || cfg.Targets[0].Terraform.Vars["project"] != "p" || cfg.Targets[0].Terraform.BackendConfig["bucket"] != "b") {
				t.Errorf("terraform block not decoded: %+v", cfg.Targets[0].Terraform)
			}
		})
	}
}
