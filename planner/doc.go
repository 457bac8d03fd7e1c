// Package planner strings Meridian's stages together: it takes a parsed
// config repo, checks it against policy, resolves prices, sizes and places
// every workload, and returns one meridian.Plan.
//
// It is the only package that imports the stage packages; each stage imports
// only the root domain package.
package planner
