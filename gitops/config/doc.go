// Package config parses a Meridian config repo (meridian.yaml, targets/,
// workloads/, policies/) into the domain model.
//
// Parsing is strict and exhaustive: unknown fields, wrong types, duplicate
// names, dangling references and YAML syntax errors are all collected and
// returned together as meridian.ConfigErrors, each naming path:line and the
// dotted field, so one bad file never hides the rest. Every field's line is
// recorded in the entity's Origin, which is how policy findings point at
// file:line.
package config
