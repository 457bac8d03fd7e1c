// Package forecast predicts a workload's load over the next hours and sizes
// its replicas for it.
//
// The pieces, in the order a planner uses them:
//
//   - A Source yields load history on a regular grid: CSVSource reads a
//     timestamp,value file from the config repo, PrometheusSource runs a
//     range query. SourceFor picks the one a workload declares. Irregular
//     samples go onto the grid with Regularize; unusable data is a
//     meridian.ConfigError naming file, line and field.
//   - Predict (or a Forecaster, which warm-starts repeated fits) fits naive,
//     seasonal naive, simple and damped-trend exponential smoothing, damped
//     additive Holt-Winters with a daily season and, given three weeks of
//     history, with a daily plus a weekly season; each smoothing model also
//     on the log scale. Parameters minimise the in-sample one-step squared
//     error (Nelder-Mead). The models are combined with weights from
//     rolling-origin validation on the history itself, and prediction
//     quantiles come from the combination's own validation errors at each
//     horizon step.
//   - Size turns the forecast's upper quantile into a replica count.
//
// Subpackage eval implements the evaluation protocol of the forecast dev set
// (shared/data/forecast/README.md).
package forecast
