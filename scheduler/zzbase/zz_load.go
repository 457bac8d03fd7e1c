package scheduler

import (
	"encoding/gob"
	"os"
)

func ZZLoad(path string) (*Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Problem{}
	return p, gob.NewDecoder(f).Decode(p)
}
