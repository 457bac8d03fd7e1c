package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/meridianhq/meridian"
)

// terraformSummary is one line per target: what `meridian apply` would do
// through Terraform there.
func terraformSummary(c meridian.TargetChange) string {
	if c.Error != "" {
		return fmt.Sprintf("%s: %s", c.Status, c.Error)
	}
	if !c.HasChanges() {
		return "no changes"
	}
	s := fmt.Sprintf("%d to add, %d to change, %d to replace, %d to destroy", len(c.Add), len(c.Change), len(c.Replace), len(c.Destroy))
	if len(c.Outputs) > 0 {
		s += fmt.Sprintf(", %d output(s) change", len(c.Outputs))
	}
	for _, f := range c.Frozen {
		s += fmt.Sprintf("; %s frozen at %d replicas (planned %d)", f.Workload, f.Replicas, f.Planned)
	}
	return s
}

func terraformTable(w io.Writer, p *meridian.Plan) {
	if len(p.Terraform) == 0 {
		return
	}
	fmt.Fprintln(w, "\nTerraform:")
	for _, c := range p.Terraform {
		fmt.Fprintf(w, "  %s (%s): %s\n", c.Target, c.Module, terraformSummary(c))
	}
}

func terraformMarkdown(w io.Writer, p *meridian.Plan) {
	if len(p.Terraform) == 0 {
		return
	}
	fmt.Fprint(w, "\n<details><summary>Terraform plan</summary>\n\n")
	fmt.Fprintln(w, "| Target | Module | Summary |")
	fmt.Fprintln(w, "|---|---|---|")
	var addrs strings.Builder
	for _, c := range p.Terraform {
		fmt.Fprintf(w, "| `%s` | `%s` | %s |\n", c.Target, c.Module, cell(terraformSummary(c)))
		for _, group := range []struct {
			sign  string
			addrs []string
		}{{"+", c.Add}, {"~", c.Change}, {"-/+", c.Replace}, {"-", c.Destroy}} {
			for _, a := range group.addrs {
				fmt.Fprintf(&addrs, "%s %s: %s\n", group.sign, c.Target, a)
			}
		}
	}
	if addrs.Len() > 0 {
		fmt.Fprintf(w, "\n```diff\n%s```\n", addrs.String())
	}
	fmt.Fprintln(w, "\n</details>")
}
