package dashboard

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Point is one value of a time series.
type Point struct {
	Time  time.Time
	Value float64
}

// Series is a named line of a chart; Class is the CSS class that draws it
// (the page's stylesheet owns the colours, the legend names each line, so
// that no line is told apart by colour alone).
type Series struct {
	Name   string
	Class  string
	Points []Point
}

// Band is the area between two series of the same times, such as a
// forecast's P50 and upper quantile.
type Band struct {
	Name      string
	Class     string
	Low, High []Point
}

// Chart is the geometry of an SVG line chart, in its own coordinates
// (viewBox 0 0 Width Height): polylines and polygons as SVG point lists,
// and labelled ticks. Empty reports a chart with nothing to draw.
type Chart struct {
	Width, Height int
	Lines         []Line
	Bands         []Area
	YTicks        []Tick
	XTicks        []Tick
	Empty         bool
}

// Line is a series drawn as a polyline.
type Line struct {
	Name, Class, Points string
	// Last is the final point, to mark it with a dot.
	LastX, LastY float64
}

// Area is a band drawn as a polygon.
type Area struct {
	Name, Class, Points string
}

// Tick is an axis label at a position (Y for the value axis, X for time).
type Tick struct {
	Pos   float64
	Label string
}

// Chart margins: room for the value labels on the left and the dates below.
const (
	padLeft, padRight, padTop, padBottom = 72.0, 12.0, 10.0, 24.0
)

// LineChart lays out series and bands on one time axis and one value axis
// starting at zero. format labels the value axis.
func LineChart(width, height int, series []Series, bands []Band, format func(float64) string) Chart {
	c := Chart{Width: width, Height: height}
	var t0, t1 time.Time
	hi := 0.0
	n := 0
	see := func(ps []Point) {
		for _, p := range ps {
			if n == 0 || p.Time.Before(t0) {
				t0 = p.Time
			}
			if n == 0 || p.Time.After(t1) {
				t1 = p.Time
			}
			if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
				hi = math.Max(hi, p.Value)
			}
			n++
		}
	}
	for _, s := range series {
		see(s.Points)
	}
	for _, b := range bands {
		see(b.Low)
		see(b.High)
	}
	if n == 0 {
		c.Empty = true
		return c
	}
	if hi <= 0 {
		hi = 1
	}
	hi = niceCeil(hi)
	span := t1.Sub(t0).Seconds()
	w, h := float64(width)-padLeft-padRight, float64(height)-padTop-padBottom
	x := func(t time.Time) float64 {
		if span <= 0 {
			return padLeft + w/2
		}
		return padLeft + w*t.Sub(t0).Seconds()/span
	}
	y := func(v float64) float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			v = 0
		}
		return padTop + h*(1-math.Max(0, v)/hi)
	}
	for _, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		var b strings.Builder
		for i, p := range s.Points {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(coord(x(p.Time), y(p.Value)))
		}
		last := s.Points[len(s.Points)-1]
		c.Lines = append(c.Lines, Line{Name: s.Name, Class: s.Class, Points: b.String(), LastX: round1(x(last.Time)), LastY: round1(y(last.Value))})
	}
	for _, bd := range bands {
		if len(bd.Low) == 0 || len(bd.High) == 0 {
			continue
		}
		var b strings.Builder
		for _, p := range bd.High {
			b.WriteString(coord(x(p.Time), y(p.Value)) + " ")
		}
		for i := len(bd.Low) - 1; i >= 0; i-- {
			b.WriteString(coord(x(bd.Low[i].Time), y(bd.Low[i].Value)))
			if i > 0 {
				b.WriteByte(' ')
			}
		}
		c.Bands = append(c.Bands, Area{Name: bd.Name, Class: bd.Class, Points: b.String()})
	}
	for i := range 5 {
		v := hi * float64(i) / 4
		c.YTicks = append(c.YTicks, Tick{Pos: round1(y(v)), Label: format(v)})
	}
	c.XTicks = append(c.XTicks, Tick{Pos: round1(x(t0)), Label: t0.UTC().Format("2006-01-02")})
	if span > 0 {
		c.XTicks = append(c.XTicks, Tick{Pos: round1(x(t1)), Label: t1.UTC().Format("2006-01-02")})
	}
	return c
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that
// the axis labels are round numbers.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func coord(x, y float64) string {
	return strconv.FormatFloat(round1(x), 'f', -1, 64) + "," + strconv.FormatFloat(round1(y), 'f', -1, 64)
}
