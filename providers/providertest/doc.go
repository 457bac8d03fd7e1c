// Package providertest is the conformance suite every providers.Backend's
// test runs (see Run), plus the pricing reference extract that catalog
// values and payload parsers are cross-checked against (see LoadReference).
//
// It is imported only by tests.
package providertest
