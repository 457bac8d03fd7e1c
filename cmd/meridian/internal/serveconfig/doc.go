// Package serveconfig reads the configuration of `meridian serve`: a YAML
// file keyed by serve's flag names (docs/server.md, "Configuration file")
// and the MERIDIAN_* variables derived from the same names, so a flag
// added to serve is a file key and an environment variable at once.
// Precedence, per setting: flags > MERIDIAN_* > file > defaults.
//
// It knows flags only as a pflag.FlagSet and imports nothing of Meridian,
// so its fuzz target builds in seconds: cmd/meridian builds the FlagSet and
// names where each secret goes instead.
package serveconfig
