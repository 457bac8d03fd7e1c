package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mitchellh/go-wordwrap"

	"github.com/meridianhq/meridian"
)

// fixWidth is the column the remediation lines wrap at: a terminal's 80
// columns would cut most rule messages, which the row keeps on one line,
// while a fix is prose read line by line, as Terraform prints its
// diagnostics' detail.
const fixWidth = 100

// Findings writes findings for a terminal or a plain-text log: an aligned
// row per finding (severity, rule, where, workload, target, message), each
// followed by its remediation on indented "fix:" lines, so that the
// reader of a table sees what to do as the JSON and the pull-request
// comment say it. Every line starts with indent.
//
// The plan and audit tables both print their findings through it, so
// that they cannot drift apart.
func Findings(w io.Writer, indent string, fs []meridian.Finding) error {
	// The rows are aligned over all findings first and the fix lines put
	// under them afterwards: a tab-less line inside a tabwriter block
	// would end the block and misalign the rows after it.
	var rows bytes.Buffer
	tw := tabwriter.NewWriter(&rows, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, indent+"SEVERITY\tRULE\tLOCATION\tWORKLOAD\tTARGET\tMESSAGE")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", indent, f.Severity, f.Rule, location(f), dash(f.Workload), dash(f.Target), oneLine(f.Message))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ew := &errWriter{w: w}
	lines := strings.Split(strings.TrimSuffix(rows.String(), "\n"), "\n")
	for i, row := range lines {
		fmt.Fprintln(ew, strings.TrimRight(row, " "))
		if i == 0 {
			continue // the header
		}
		for _, l := range fixLines(fs[i-1].Remediation) {
			fmt.Fprintln(ew, indent+"  "+l)
		}
	}
	return ew.err
}

// FindingList writes findings one to a line, "severity rule: message",
// each followed by its "fix:" lines as Findings writes them: for the few
// findings of a step's output (render, the deploy step of apply), where a
// table would be heavier than its content. Every line starts with indent.
func FindingList(w io.Writer, indent string, fs []meridian.Finding) error {
	ew := &errWriter{w: w}
	for _, f := range fs {
		fmt.Fprintf(ew, "%s%s %s: %s\n", indent, f.Severity, f.Rule, oneLine(f.Message))
		for _, l := range fixLines(f.Remediation) {
			fmt.Fprintln(ew, indent+"  "+l)
		}
	}
	return ew.err
}

// fixLines is a remediation as a finding's text lines: "fix: ..." wrapped
// at fixWidth, its continuation lines aligned under the text; none for an
// empty remediation.
func fixLines(remediation string) []string {
	remediation = oneLine(remediation)
	if remediation == "" {
		return nil
	}
	const label = "fix: "
	lines := strings.Split(wordwrap.WrapString(remediation, uint(fixWidth-len(label))), "\n")
	for i := range lines {
		if i == 0 {
			lines[i] = label + lines[i]
		} else {
			lines[i] = strings.Repeat(" ", len(label)) + lines[i]
		}
	}
	return lines
}

// oneLine folds a text's runs of white space, newlines included, into
// single spaces: a policy's message or remediation may span lines in its
// METADATA, which would break a row or the wrapping.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
