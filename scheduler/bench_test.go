package scheduler

import (
	"context"
	"testing"
)

func benchmarkSolve(b *testing.B, generate func(int64, int, int) *Problem, workloads, targets int) {
	solveLoop(b, generate(1, workloads, targets))
}

// solveLoop solves p repeatedly and reports the gap and how the time
// splits between building the model, searching and explaining.
func solveLoop(b *testing.B, p *Problem) {
	b.ReportAllocs()
	var res *Result
	var sum Timings
	n := 0
	for b.Loop() {
		var err error
		if res, err = Solve(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		sum.Build += res.Timings.Build
		sum.Search += res.Timings.Search
		sum.Explain += res.Timings.Explain
		n++
	}
	b.ReportMetric(res.Stats.GapPercent, "gap%")
	b.ReportMetric(sum.Build.Seconds()/float64(n), "build-s/op")
	b.ReportMetric(sum.Search.Seconds()/float64(n), "search-s/op")
	b.ReportMetric(sum.Explain.Seconds()/float64(n), "explain-s/op")
}

func BenchmarkSolve200x20(b *testing.B)   { benchmarkSolve(b, Generate, 200, 20) }
func BenchmarkSolve1000x50(b *testing.B)  { benchmarkSolve(b, Generate, 1000, 50) }
func BenchmarkSolve5000x100(b *testing.B) { benchmarkSolve(b, Generate, 5000, 100) }

// The sites instances are the end-to-end plan benchmark's shape: fixed-size
// sites, heavily oversubscribed.
func BenchmarkSolveSites1000x50(b *testing.B)   { benchmarkSolve(b, GenerateSites, 1000, 50) }
func BenchmarkSolveSites5000x100(b *testing.B)  { benchmarkSolve(b, GenerateSites, 5000, 100) }
func BenchmarkSolveSites10000x200(b *testing.B) { benchmarkSolve(b, GenerateSites, 10000, 200) }

// BenchmarkSolveReplan10000x200 re-plans the sites instance with its own
// plan as the ledger, as after an apply: the search starts from the
// ledger's placement.
func BenchmarkSolveReplan10000x200(b *testing.B) {
	p := GenerateSites(1, 10000, 200)
	res, err := Solve(context.Background(), p)
	if err != nil {
		b.Fatal(err)
	}
	p.Current = map[string][]string{}
	for _, pl := range res.Placements {
		p.Current[pl.Workload] = append(p.Current[pl.Workload], pl.Target)
	}
	solveLoop(b, p)
}

// BenchmarkGenerate1000x50 is the cost of the benchmark generator alone,
// to tell it apart from solving in end-to-end runs.
func BenchmarkGenerate1000x50(b *testing.B) {
	for b.Loop() {
		Generate(1, 1000, 50)
	}
}

// BenchmarkSolveJoint1000x50 is BenchmarkSolve1000x50 through SolveJoint,
// which solves a second time when hysteresis holds a workload on a
// limited target: the price of judging moves jointly.
func BenchmarkSolveJoint1000x50(b *testing.B) {
	p := Generate(1, 1000, 50)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SolveJoint(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
}
