package scheduler

import (
	"fmt"
	"testing"
)

func TestZZAnalyze(t *testing.T) {
	for name, p := range zzProblems(t) {
		fmt.Println("==", name, len(p.Workloads), len(p.Targets), "current", len(p.Current), p.Settings)
		for ti, tg := range p.Targets {
			ok := 0
			rules := map[string]int{}
			for i := range p.Workloads {
				if len(p.Violations[i][ti]) == 0 {
					ok++
				}
				for _, v := range p.Violations[i][ti] {
					rules[v.Rule]++
				}
			}
			fmt.Printf("%s %s %s %s cap=%v rates=%+v ok=%d %v\n", tg.Name, tg.Provider, tg.Region, tg.Jurisdiction, tg.Capacity, p.Rates[ti], ok, rules)
		}
		hist := map[string]int{}
		for i, w := range p.Workloads {
			hist[fmt.Sprintf("min=%d rep=%d", w.Replicas.Min, p.Replicas[i])]++
			if i < 12 {
				fmt.Printf("%s %+v rep=%d\n", w.Name, w, p.Replicas[i])
			}
		}
		fmt.Println(hist)
	}
}
