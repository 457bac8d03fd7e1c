package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnv(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		reason  string
		environ []string
		want    map[string]string
	}{
		"missing cli config": {
			reason:  "a TF_CLI_CONFIG_FILE that does not exist makes Terraform print a warning that breaks terraform-exec",
			environ: []string{"TF_CLI_CONFIG_FILE=/nonexistent/.terraformrc", "TERRAFORM_CONFIG=/nope", "HOME=/root"},
			want:    map[string]string{"HOME": "/root"},
		},
		"existing cli config": {
			reason:  "a real CLI config (provider mirrors, credentials) is the user's choice and stays",
			environ: []string{"TF_CLI_CONFIG_FILE=" + existing},
			want:    map[string]string{"TF_CLI_CONFIG_FILE": existing},
		},
		"behaviour changing": {
			reason: "variables that change a command or feed inputs outside the plan ID are dropped",
			environ: []string{"TF_CLI_ARGS=-no-color", "TF_CLI_ARGS_plan=-refresh-only", "TF_VAR_replicas=9", "TF_WORKSPACE=prod",
				"TF_DATA_DIR=/elsewhere", "TF_INPUT=1", "TF_LOG=TRACE", "TF_LOG_PATH=/tmp/x", "TF_PLUGIN_CACHE_DIR=/theirs", "TF_IN_AUTOMATION=0"},
			want: map[string]string{},
		},
		"credentials pass": {
			reason:  "cloud credentials and registry tokens must reach the providers",
			environ: []string{"AWS_REGION=eu-central-1", "TF_TOKEN_app_terraform_io=secret", "ARM_CLIENT_ID=x"},
			want:    map[string]string{"AWS_REGION": "eu-central-1", "TF_TOKEN_app_terraform_io": "secret", "ARM_CLIENT_ID": "x"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := Env(tc.environ, "/state/plugin-cache")
			want := map[string]string{"CHECKPOINT_DISABLE": "1", "TF_PLUGIN_CACHE_DIR": "/state/plugin-cache"}
			for k, v := range tc.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
			}
		})
	}
}

func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tf")
	plain := filepath.Join(dir, "plain")
	for p, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvBinary {
				return v
			}
			return ""
		}
	}
	t.Setenv("PATH", dir) // neither terraform nor tofu here
	if got, err := FindBinary(exe, env(plain)); err != nil || got != exe {
		t.Errorf("the flag must win over %s: got %q, %v", EnvBinary, got, err)
	}
	if got, err := FindBinary("", env(exe)); err != nil || got != exe {
		t.Errorf("%s must be used without a flag: got %q, %v", EnvBinary, got, err)
	}
	if _, err := FindBinary(plain, env("")); err == nil {
		t.Error("a non-executable file must be refused")
	}
	if _, err := FindBinary("", env("")); err != ErrNoBinary {
		t.Errorf("nothing anywhere = %v, want ErrNoBinary", err)
	}
	onPath := filepath.Join(dir, "tofu")
	if err := os.WriteFile(onPath, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := FindBinary("", env("")); err != nil || got != onPath {
		t.Errorf("PATH lookup = %q, %v; want %s", got, err, onPath)
	}
}
