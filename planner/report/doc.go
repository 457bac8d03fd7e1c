// Package report renders a meridian.Plan for people and machines: a
// terminal table, Markdown for pull-request comments, and the stable JSON
// document described in docs/plan-json.md.
package report
