package terraform

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Changes is a plan's resource changes by address.
type Changes struct {
	Add     []string
	Change  []string
	Replace []string
	Destroy []string
	// Outputs are the root outputs that change.
	Outputs []string
}

// Summarize lists the managed resources a plan changes. Reads of data
// sources and no-ops are left out; each address appears once.
func Summarize(p *tfjson.Plan) Changes {
	c := Changes{Add: []string{}, Change: []string{}, Replace: []string{}, Destroy: []string{}}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode == tfjson.DataResourceMode {
			continue
		}
		addr := address(rc)
		switch a := rc.Change.Actions; {
		case a.NoOp(), a.Read():
		case a.Create():
			c.Add = append(c.Add, addr)
		case a.Delete():
			c.Destroy = append(c.Destroy, addr)
		case a.Replace():
			c.Replace = append(c.Replace, addr)
		default: // update, and actions newer than this code
			c.Change = append(c.Change, addr)
		}
	}
	for name, oc := range p.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() {
			c.Outputs = append(c.Outputs, name)
		}
	}
	for _, s := range [][]string{c.Add, c.Change, c.Replace, c.Destroy, c.Outputs} {
		sort.Strings(s)
	}
	return c
}

func address(rc *tfjson.ResourceChange) string {
	if rc.DeposedKey != "" {
		return rc.Address + " (deposed " + rc.DeposedKey + ")"
	}
	return rc.Address
}

// Drifted is a resource that differs from what Meridian last applied.
type Drifted struct {
	Address string
	// Key is the for_each key of the resource instance, if it is a string:
	// modules key per-workload resources by workload name.
	Key string
	// Action is "update", "delete", "create" or "replace".
	Action string
	// Attributes lists the top-level attributes that differ.
	Attributes []string
	// Before and After hold those attributes' values on each side of the
	// change, from the redacted plan: sensitive values are Redacted, and an
	// attribute Terraform knows only after apply is Unknown. A nil map is
	// a side where the resource does not exist (the before of a create,
	// the after of a delete).
	Before, After map[string]any
}

// Unknown stands for a value Terraform will know only after apply.
const Unknown = "(known after apply)"

// Drift lists what a refresh-only plan found changed outside Terraform.
func Drift(p *tfjson.Plan) []Drifted {
	return drifted(p.ResourceDrift)
}

// Pending lists the changes a normal plan of the last applied inputs
// would make: anything that moved the infrastructure or the state away
// from what was applied.
func Pending(p *tfjson.Plan) []Drifted {
	return drifted(p.ResourceChanges)
}

func drifted(rcs []*tfjson.ResourceChange) []Drifted {
	var out []Drifted
	for _, rc := range rcs {
		if rc == nil || rc.Change == nil || rc.Mode == tfjson.DataResourceMode {
			continue
		}
		a := rc.Change.Actions
		var action string
		switch {
		case a.NoOp(), a.Read():
			continue
		case a.Create():
			action = "create"
		case a.Delete():
			action = "delete"
		case a.Replace():
			action = "replace"
		default:
			action = "update"
		}
		d := Drifted{Address: address(rc), Action: action, Attributes: changedKeys(rc.Change.Before, rc.Change.After)}
		d.Before, d.After = values(rc.Change.Before, nil, d.Attributes), values(rc.Change.After, rc.Change.AfterUnknown, d.Attributes)
		if k, ok := rc.Index.(string); ok {
			d.Key = k
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}

func changedKeys(before, after any) []string {
	b, _ := before.(map[string]any)
	a, _ := after.(map[string]any)
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]any{b, a} {
		for k := range m {
			if !seen[k] && !reflect.DeepEqual(b[k], a[k]) {
				keys = append(keys, k)
			}
			seen[k] = true
		}
	}
	sort.Strings(keys)
	return keys
}

// values picks keys out of an object, marking the keys unknown masks as
// Unknown. It returns nil when v is not an object (the resource is absent).
func values(v, unknown any, keys []string) map[string]any {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	u, _ := unknown.(map[string]any)
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		if x, ok := obj[k]; ok {
			out[k] = x
		}
		if b, ok := u[k].(bool); ok && b {
			out[k] = Unknown
		}
	}
	return out
}

// String describes the drift in one line.
func (d Drifted) String() string {
	if len(d.Attributes) == 0 {
		return d.Action
	}
	return fmt.Sprintf("%s (%s)", d.Action, strings.Join(d.Attributes, ", "))
}

// FailedChecks lists the check blocks, preconditions and postconditions
// that failed or could not be evaluated, with their messages.
func FailedChecks(p *tfjson.Plan) []string {
	var out []string
	for _, c := range p.Checks {
		if c.Status != tfjson.CheckStatusFail && c.Status != tfjson.CheckStatusError {
			continue
		}
		addr := c.Address.ToDisplay
		var msgs []string
		for _, inst := range c.Instances {
			for _, pr := range inst.Problems {
				msgs = append(msgs, pr.Message)
			}
		}
		if len(msgs) == 0 {
			msgs = []string{string(c.Status)}
		}
		out = append(out, addr+": "+strings.Join(msgs, "; "))
	}
	sort.Strings(out)
	return out
}
