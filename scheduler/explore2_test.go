package scheduler

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestOne(t *testing.T) {
	w, _ := strconv.Atoi(os.Getenv("W"))
	tt, _ := strconv.Atoi(os.Getenv("T"))
	seed, _ := strconv.Atoi(os.Getenv("S"))
	if w == 0 {
		t.Skip()
	}
	p := Generate(int64(seed), w, tt)
	debugStart = time.Now()
	res, err := Solve(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("lb %.2f gap %.4f%% opt %v %s %.3fs unpl %d\n", res.Stats.LowerBound, res.Stats.GapPercent, res.Stats.Optimal, res.Stats.Method, res.Stats.Seconds, len(res.Unplaceable))
}
