package policies

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
)

// classes groups documents that a unit cannot tell apart.
type classes struct {
	// of[i] is the class of document i.
	of []int
	// values[c] is the projected document of class c, as Rego input.
	values []ast.Value
}

// classify projects each document onto ps and numbers the distinct
// projections in order of first appearance.
func classify(docs []map[string]any, ps *pathSet) (classes, error) {
	cl := classes{of: make([]int, len(docs))}
	seen := map[string]int{}
	var key []byte
	for i, d := range docs {
		key = ps.appendKey(key[:0], d)
		c, ok := seen[string(key)]
		if !ok {
			v, err := ast.InterfaceToValue(ps.project(d))
			if err != nil {
				return classes{}, err
			}
			c = len(cl.values)
			seen[string(key)] = c
			cl.values = append(cl.values, v)
		}
		cl.of[i] = c
	}
	return cl, nil
}

// signatures combines per-unit classes: documents with equal signatures get
// equal results from every unit. It returns each document's signature
// number and, per signature, a representative document index.
func signatures(n int, perUnit []classes) (of []int, reps []int) {
	of = make([]int, n)
	seen := map[string]int{}
	key := make([]byte, 0, 8*len(perUnit))
	for i := range n {
		key = key[:0]
		for _, cl := range perUnit {
			key = strconv.AppendInt(key, int64(cl.of[i]), 10)
			key = append(key, ',')
		}
		s, ok := seen[string(key)]
		if !ok {
			s = len(reps)
			seen[string(key)] = s
			reps = append(reps, i)
		}
		of[i] = s
	}
	return of, reps
}

// parallel calls fn(ctx, i) for i in [0, n) on up to workers goroutines,
// stopping at the first error. It returns the first error fn returned,
// which says what was running (fn's error for a deadline names the rule
// package), or else why ctx ended.
func parallel(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) error {
	workers = max(1, min(workers, n))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err })
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if ctx.Err() != nil {
		return stopped(ctx)
	}
	return nil
}

// inputObject builds the Rego input {"workload": w, "target": t,
// "settings": s}, leaving out nil parts.
func inputObject(w, t, s ast.Value) ast.Value {
	obj := ast.NewObject()
	if w != nil {
		obj.Insert(ast.StringTerm("workload"), ast.NewTerm(w))
	}
	if t != nil {
		obj.Insert(ast.StringTerm("target"), ast.NewTerm(t))
	}
	if s != nil {
		obj.Insert(ast.StringTerm("settings"), ast.NewTerm(s))
	}
	return obj
}
