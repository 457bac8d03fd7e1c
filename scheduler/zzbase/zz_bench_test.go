package scheduler

import (
	"context"
	"testing"
)

func benchmarkSolve(b *testing.B, generate func(int64, int, int) *Problem, workloads, targets int) {
	p := generate(1, workloads, targets)
	b.ReportAllocs()
	var gap float64
	for b.Loop() {
		res, err := Solve(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		gap = res.Stats.GapPercent
	}
	b.ReportMetric(gap, "gap%")
}

func BenchmarkSolve200x20(b *testing.B)   { benchmarkSolve(b, Generate, 200, 20) }
func BenchmarkSolve1000x50(b *testing.B)  { benchmarkSolve(b, Generate, 1000, 50) }
func BenchmarkSolve5000x100(b *testing.B) { benchmarkSolve(b, Generate, 5000, 100) }

// The sites instances are the end-to-end plan benchmark's shape: fixed-size
// sites, heavily oversubscribed.
func BenchmarkSolveSites1000x50(b *testing.B)  { benchmarkSolve(b, GenerateSites, 1000, 50) }
func BenchmarkSolveSites5000x100(b *testing.B) { benchmarkSolve(b, GenerateSites, 5000, 100) }

// BenchmarkGenerate1000x50 is the cost of the benchmark generator alone,
// to tell it apart from solving in end-to-end runs.
func BenchmarkGenerate1000x50(b *testing.B) {
	for b.Loop() {
		Generate(1, 1000, 50)
	}
}
