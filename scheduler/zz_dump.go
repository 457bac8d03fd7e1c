package scheduler

// TEMPORARY: load dumped problems for offline experiments. Deleted before handing back.

import (
	"encoding/gob"
	"os"
)

// ZZLoad reads a dumped problem.
func ZZLoad(path string) (*Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Problem{}
	return p, gob.NewDecoder(f).Decode(p)
}
