package terraform

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// EnvBinary is the environment variable naming the binary, between the
// --terraform-bin flag and PATH in precedence.
const EnvBinary = "MERIDIAN_TERRAFORM"

// ErrNoBinary means no Terraform-compatible binary was found.
var ErrNoBinary = errors.New("no Terraform binary: pass --terraform-bin, set " + EnvBinary + ", or put terraform or tofu on PATH (scripts/install-terraform.sh builds one)")

// FindBinary returns the binary to run: flag if set, else $MERIDIAN_TERRAFORM,
// else terraform or tofu from PATH. getenv is os.Getenv outside tests.
func FindBinary(flag string, getenv func(string) string) (string, error) {
	for _, p := range []string{flag, getenv(EnvBinary)} {
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("terraform binary %s: %w", p, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("terraform binary %s: not an executable file", p)
		}
		return p, nil
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBinary
}

// Env builds the environment of every Terraform process Meridian starts,
// from the parent environment environ. It is the one place that decides it:
//
//   - TF_CLI_CONFIG_FILE (and the legacy TERRAFORM_CONFIG) is dropped when
//     it names a missing file: the warning Terraform prints about it breaks
//     terraform-exec's parsing on some binaries;
//   - TF_CLI_ARGS*, TF_VAR_*, TF_WORKSPACE, TF_DATA_DIR, TF_INPUT and the
//     logging variables are dropped: they would change what a command does
//     (TF_CLI_ARGS_plan=-destroy makes a new module's plan report no
//     changes) or feed inputs that the plan ID does not cover;
//   - TF_PLUGIN_CACHE_DIR is set to the shared plugin cache, and
//     CHECKPOINT_DISABLE=1 stops update checks.
//
// Everything else (cloud credentials, proxies, TF_TOKEN_*) passes through.
func Env(environ []string, pluginCacheDir string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			env[k] = v
		}
	}
	for _, k := range []string{"TF_CLI_CONFIG_FILE", "TERRAFORM_CONFIG"} {
		if p, ok := env[k]; ok {
			if st, err := os.Stat(p); p == "" || err != nil || st.IsDir() {
				delete(env, k)
			}
		}
	}
	for k := range env {
		switch {
		case strings.HasPrefix(k, "TF_CLI_ARGS"), strings.HasPrefix(k, "TF_VAR_"),
			k == "TF_WORKSPACE", k == "TF_DATA_DIR", k == "TF_INPUT", k == "TF_PLUGIN_CACHE_DIR",
			strings.HasPrefix(k, "TF_LOG"):
			delete(env, k)
		}
	}
	env = tfexec.CleanEnv(env)
	env["CHECKPOINT_DISABLE"] = "1"
	if pluginCacheDir != "" {
		env["TF_PLUGIN_CACHE_DIR"] = pluginCacheDir
	}
	return env
}
