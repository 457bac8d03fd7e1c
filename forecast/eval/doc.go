// Package eval scores the forecaster with the rolling-origin protocol of
// the forecast dev set (shared/data/forecast/README.md): regular grid, test
// region the last 20 %, ten origins, a 4-hour horizon and a daily season,
// refitting at every origin on the data before it. It reports MASE, sMAPE
// and 80 % interval coverage for Meridian's automatic method beside the
// naive and seasonal-naive baselines that REFERENCE.md lists.
package eval
