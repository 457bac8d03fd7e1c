package dashboard_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/meridian/dashboard"
)

func TestLineChart(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	label := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	c := dashboard.LineChart(400, 200, []dashboard.Series{{Name: "a", Class: "line-a", Points: []dashboard.Point{
		{Time: t0, Value: 0}, {Time: t0.Add(24 * time.Hour), Value: 70}, {Time: t0.Add(48 * time.Hour), Value: 35},
	}}}, []dashboard.Band{{Name: "b", Class: "band", Low: []dashboard.Point{{Time: t0, Value: 10}, {Time: t0.Add(48 * time.Hour), Value: 20}},
		High: []dashboard.Point{{Time: t0, Value: 30}, {Time: t0.Add(48 * time.Hour), Value: 40}}}}, label)
	// The value axis ends at the next round number above the peak (100),
	// from padTop (10) to height-padBottom (176); time spans padLeft (72)
	// to width-padRight (388).
	if want := "72,176 230,59.8 388,117.9"; len(c.Lines) != 1 || c.Lines[0].Points != want {
		t.Errorf("line %+v, want points %q", c.Lines, want)
	}
	if len(c.Bands) != 1 || c.Bands[0].Points != "72,126.2 388,109.6 388,142.8 72,159.4" {
		t.Errorf("band %+v", c.Bands)
	}
	var labels []string
	for _, tk := range c.YTicks {
		labels = append(labels, tk.Label)
	}
	if strings.Join(labels, " ") != "0 25 50 75 100" {
		t.Errorf("ticks %v", labels)
	}
	if len(c.XTicks) != 2 || c.XTicks[0].Label != "2026-01-01" || c.XTicks[1].Label != "2026-01-03" {
		t.Errorf("time ticks %+v", c.XTicks)
	}
	if e := dashboard.LineChart(400, 200, nil, nil, label); !e.Empty {
		t.Errorf("a chart without points is not Empty")
	}
	// One point: no time span, so it sits in the middle instead of
	// dividing by zero.
	one := dashboard.LineChart(400, 200, []dashboard.Series{{Points: []dashboard.Point{{Time: t0, Value: 5}}}}, nil, label)
	if one.Lines[0].Points != "230,10" {
		t.Errorf("one point at %q", one.Lines[0].Points)
	}
}
