package workflow

import (
	"fmt"
	"maps"

	"github.com/meridianhq/meridian/terraform"
)

// Backend is where Meridian keeps the state of a module that declares no
// backend, instead of the terraform.tfstate of the target's workspace:
// with a PostgreSQL store, Terraform's pg backend on the same database,
// so that every replica of the server, and every CLI run on the store,
// reads and writes one state. The module gets terraform.BackendFile, and
// init the settings of Config.
type Backend struct {
	// Type is the backend's type ("pg").
	Type string
	// Config returns a target's -backend-config settings (the pg
	// backend's schema_name); the target's own backend_config wins over
	// them. They are stored with the plan, so secrets (the connection
	// string) belong in the runner's environment (PG_CONN_STR), never here.
	Config func(repoID, target string) map[string]string
	// RefuseLocal, when not empty, is why a module that declares the
	// local backend is not planned: its state would stay in this state
	// dir, where the other replicas sharing the store do not see it.
	RefuseLocal string
}

// resolve adds the backend file to a module that declares no backend
// (nil b: nothing) and returns the backend settings to init it with.
func (b *Backend) resolve(files terraform.Files, repoID, target string, settings map[string]string) (map[string]string, error) {
	if b == nil {
		return settings, nil
	}
	declared, err := files.DeclaredBackend()
	if err != nil {
		return nil, err
	}
	switch declared {
	case "":
		if _, clash := files[terraform.BackendFile]; clash {
			return nil, fmt.Errorf("the module holds its own %s, which Meridian writes", terraform.BackendFile)
		}
		files[terraform.BackendFile] = terraform.BackendBlock(b.Type)
		out := map[string]string{}
		if b.Config != nil {
			maps.Copy(out, b.Config(repoID, target))
		}
		maps.Copy(out, settings)
		return out, nil
	case "local":
		if b.RefuseLocal != "" {
			return nil, fmt.Errorf("the module declares backend \"local\": %s", b.RefuseLocal)
		}
	}
	return settings, nil
}
