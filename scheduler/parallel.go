package scheduler

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// worker is one goroutine's scratch space in the solver's parallel loops.
type worker struct {
	top []pick    // pricedBest's choices, capacity maxSpread
	tmp []int32   // a selection, length maxSpread
	use []float64 // a usage, length 2K
}

func newWorkers(s *solver) []*worker {
	n := s.maxSpread()
	ws := make([]*worker, max(1, runtime.GOMAXPROCS(0)))
	for q := range ws {
		ws[q] = &worker{top: make([]pick, 0, n), tmp: make([]int32, n), use: make([]float64, 2*s.K)}
	}
	return ws
}

// chunks is how many pieces of at most size items n items make.
func chunks(n, size int) int { return (n + size - 1) / size }

// forEach calls fn(c, w) for every c in [0, n) on up to len(s.workers)
// goroutines, each passing its own worker w; see parallel.
func (s *solver) forEach(n int, fn func(c int, w *worker)) {
	parallel(n, len(s.workers), func(c, q int) { fn(c, s.workers[q]) })
}

// parallel calls fn(c, q) for every c in [0, n) on up to g goroutines; q
// in [0, g) names the goroutine, for per-goroutine scratch. Callers keep
// what fn finds per c and combine it in order of c afterwards, so that no
// result depends on how many goroutines ran or which of them took which
// c: the pieces are fixed by the data, never by the number of cores.
func parallel(n, g int, fn func(c, q int)) {
	g = min(g, n)
	if g <= 1 {
		for c := range n {
			fn(c, 0)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for q := range g {
		wg.Go(func() {
			for {
				c := int(next.Add(1)) - 1
				if c >= n {
					return
				}
				fn(c, q)
			}
		})
	}
	wg.Wait()
}
