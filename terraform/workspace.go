package terraform

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/meridianhq/meridian/telemetry"
)

// Workspace is one target's Terraform working folder. With the local
// backend, the target's state lives in it (terraform.tfstate), so Meridian
// never deletes a workspace's state files (see Sync).
type Workspace struct {
	// Dir is the working folder.
	Dir string
	r   *Runner
	tf  *tfexec.Terraform
}

// Workspace opens (creating if needed) the working folder dir.
func (r *Runner) Workspace(dir string) (*Workspace, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", dir, err)
	}
	tf, err := r.exec(dir)
	if err != nil {
		return nil, err
	}
	return &Workspace{Dir: dir, r: r, tf: tf}, nil
}

// Exec is the underlying terraform-exec handle, with Meridian's environment,
// for operations this package does not wrap.
func (w *Workspace) Exec() *tfexec.Terraform { return w.tf }

// Init runs terraform init with the backend settings. It never passes
// -reconfigure or -migrate-state: a changed backend makes init fail, so that
// state is never silently left behind in the old backend.
func (w *Workspace) Init(ctx context.Context, backendConfig map[string]string) (err error) {
	ctx, span := w.r.start(ctx, "terraform.init", w.Dir)
	defer func() { telemetry.End(span, err) }()
	opts := []tfexec.InitOption{tfexec.Upgrade(false)}
	keys := make([]string, 0, len(backendConfig))
	for k := range backendConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, tfexec.BackendConfig(k+"="+backendConfig[k]))
	}
	w.r.initMu.Lock()
	defer w.r.initMu.Unlock()
	if w.r.cacheDir != "" {
		unlock, err := lockFile(filepath.Join(w.r.cacheDir, ".meridian-init.lock"))
		if err != nil {
			return fmt.Errorf("lock plugin cache: %w", err)
		}
		defer unlock()
	}
	if err := w.r.handOver(w.Dir); err != nil {
		return err
	}
	if err := w.tf.Init(ctx, opts...); err != nil {
		return fmt.Errorf("terraform init: %w", err)
	}
	return nil
}

// State identifies a state snapshot.
type State struct {
	// Serial grows with every write of the state; 0 means no state yet.
	Serial  int64
	Lineage string
	// Raw is the state document as pulled (it may hold secrets: keep it
	// only where Terraform itself would).
	Raw []byte
}

// State pulls the current state through the configured backend.
func (w *Workspace) State(ctx context.Context) (State, error) {
	if err := w.r.handOver(w.Dir); err != nil {
		return State{}, err
	}
	raw, err := w.tf.StatePull(ctx)
	if err != nil {
		return State{}, fmt.Errorf("terraform state pull: %w", err)
	}
	if len(raw) == 0 {
		return State{}, nil
	}
	var doc struct {
		Serial  int64  `json:"serial"`
		Lineage string `json:"lineage"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return State{}, fmt.Errorf("terraform state pull: not a state document: %w", err)
	}
	return State{Serial: doc.Serial, Lineage: doc.Lineage, Raw: []byte(raw)}, nil
}

// CountResources counts the resource instances of a state document (as
// State's Raw holds it); an empty document has none.
func CountResources(raw []byte) (int, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	var doc struct {
		Resources []struct {
			Instances []json.RawMessage `json:"instances"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, fmt.Errorf("terraform state: not a state document: %w", err)
	}
	n := 0
	for _, r := range doc.Resources {
		n += len(r.Instances)
	}
	return n, nil
}

// PlanResult is a saved plan, read back through show -json.
type PlanResult struct {
	// Changed is the plan's detailed exit code: true when applying it
	// would change something.
	Changed bool
	// Plan is the show -json document with sensitive values redacted.
	Plan *tfjson.Plan
}

// PlanMode selects the kind of plan.
type PlanMode int

// Plan modes.
const (
	// PlanNormal proposes the changes that make the infrastructure match
	// the configuration.
	PlanNormal PlanMode = iota
	// PlanRefreshOnly only records what changed outside Terraform.
	PlanRefreshOnly
	// PlanDestroy proposes destroying everything the state holds.
	PlanDestroy
)

// Plan runs terraform plan -out planFile and reads the plan back with
// show -json. Terraform's state lock is taken as usual.
func (w *Workspace) Plan(ctx context.Context, planFile string, mode PlanMode) (_ *PlanResult, err error) {
	ctx, span := w.r.start(ctx, "terraform.plan", w.Dir)
	defer func() { telemetry.End(span, err) }()
	opts := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.Lock(true)}
	if w.r.lockTimeout != "" {
		opts = append(opts, tfexec.LockTimeout(w.r.lockTimeout))
	}
	switch mode {
	case PlanRefreshOnly:
		opts = append(opts, tfexec.RefreshOnly(true))
	case PlanDestroy:
		opts = append(opts, tfexec.Destroy(true))
	}
	if err := w.r.handOver(w.Dir, filepath.Dir(planFile)); err != nil {
		return nil, err
	}
	changed, err := w.tf.Plan(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("terraform plan: %w", stateLocked(err, ""))
	}
	p, err := w.tf.ShowPlanFile(ctx, planFile)
	if err != nil {
		return nil, fmt.Errorf("terraform show -json: %w", err)
	}
	red, err := Redact(p)
	if err != nil {
		return nil, err
	}
	return &PlanResult{Changed: changed, Plan: red}, nil
}

// Apply applies exactly the saved plan file. Terraform's machine-readable
// log is written to log with sensitive output values redacted; Terraform
// refuses a plan whose state has moved on, on top of Meridian's own check.
func (w *Workspace) Apply(ctx context.Context, planFile string, log io.Writer) (err error) {
	ctx, span := w.r.start(ctx, "terraform.apply", w.Dir)
	defer func() { telemetry.End(span, err) }()
	opts := []tfexec.ApplyOption{tfexec.DirOrPlan(planFile), tfexec.Lock(true)}
	if w.r.lockTimeout != "" {
		opts = append(opts, tfexec.LockTimeout(w.r.lockTimeout))
	}
	// The plan names every value Terraform marks sensitive; read it first so
	// that copies of them are scrubbed from the log too.
	p, err := w.tf.ShowPlanFile(ctx, planFile)
	if err != nil {
		return fmt.Errorf("terraform show -json: %w", err)
	}
	lr := NewLogRedactor(log, Secrets(p)...)
	err = w.tf.ApplyJSON(ctx, lr, opts...)
	if ferr := lr.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		if diags := lr.Errors(); len(diags) > 0 {
			return fmt.Errorf("terraform apply: %w", stateLocked(err, joinLines(diags)))
		}
		return fmt.Errorf("terraform apply: %w", err)
	}
	return nil
}
