package forecast

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// minimize runs Nelder-Mead on f from x0 in an unconstrained space and
// returns the best point found and its value. f must map every point to a
// finite value or +Inf.
//
// The convergence test is relative, because exponential-smoothing
// objectives are sums of squares in the data's unit, which ranges from
// percent to millions. It stops when 4 consecutive iterations per
// dimension have not lowered the best value by more than a relative 1e-5:
// the forecasts no longer change by then, and every evaluation is a pass
// over the series. maxEval bounds the work.
func minimize(f func([]float64) float64, x0 []float64, simplex float64, maxEval int) ([]float64, float64) {
	p := optimize.Problem{Func: func(x []float64) float64 {
		v := f(x)
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		return v
	}}
	settings := &optimize.Settings{
		FuncEvaluations: maxEval,
		Converger: &optimize.FunctionConverge{
			Relative:   1e-5,
			Iterations: 4 * len(x0),
		},
	}
	// Minimize reports hitting a limit as a status, not an error; an error
	// still comes with the best location seen, which is a valid answer.
	res, _ := optimize.Minimize(p, x0, settings, &optimize.NelderMead{SimplexSize: simplex})
	if res == nil || len(res.X) != len(x0) || math.IsInf(res.F, 1) {
		return append([]float64(nil), x0...), f(x0)
	}
	return res.X, res.F
}

// logistic maps the real line onto (0, 1); the optimiser works on the
// logit of every smoothing parameter so that bounds never bind.
func logistic(u float64) float64 { return 1 / (1 + math.Exp(-u)) }

// logit is the inverse of logistic.
func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}
