package views

import (
	"fmt"
	"math"
)

// SpendChart is spend by day, stacked by resolution or by member, drawn as
// a server-side SVG: geometry is computed here, colours come from CSS
// classes (chart-s0…), axes and text use currentColor, so the chart needs
// no inline style or script and follows the light or dark theme.
type SpendChart struct {
	Days   int    // 30 or 90
	By     string // "resolution" or "member"
	Zone   string
	Series []ChartSeries
	Rows   []ChartDay // oldest first
	// SpentThisMonth and ProjectedMonth: the month so far and its end at
	// the current pace; PacePerDay is that pace, drawn as a dashed line.
	SpentThisMonth int64
	ProjectedMonth int64
	PacePerDay     float64
	// Hrefs switch the period and the grouping.
	Links []ChartLink
}

// ChartLink is one of the chart's switches.
type ChartLink struct {
	Label, Href string
	Current     bool
}

// ChartSeries is one stacked colour.
type ChartSeries struct {
	Label string
	Class string // chart-s0 … chart-s5
}

// ChartDay is one day's spend, Values aligned with SpendChart.Series.
type ChartDay struct {
	Label  string // "2 Nov"
	ISO    string // "2026-11-02"
	Total  int64
	Values []int64
}

// Chart geometry, in the viewBox's units.
const (
	chartW      = 720.0
	chartH      = 240.0
	chartLeft   = 64.0
	chartRight  = 8.0
	chartTop    = 22.0
	chartBottom = 34.0
)

// ViewBox is the SVG's viewBox.
func (c SpendChart) ViewBox() string { return fmt.Sprintf("0 0 %.0f %.0f", chartW, chartH) }

// Max is the y axis' top: the largest day (or the pace), rounded up to a
// round number.
func (c SpendChart) Max() int64 {
	m := math.Ceil(c.PacePerDay)
	for _, d := range c.Rows {
		m = math.Max(m, float64(d.Total))
	}
	if m <= 0 {
		return 10
	}
	step := math.Pow(10, math.Floor(math.Log10(m)))
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*step >= m {
			return int64(f * step)
		}
	}
	return int64(10 * step)
}

func (c SpendChart) y(v float64) float64 {
	plot := chartH - chartTop - chartBottom
	return chartTop + plot - v/float64(c.Max())*plot
}

// ChartBar is one rectangle of a stack.
type ChartBar struct {
	X, Y, W, H string
	Class      string
	Title      string
}

// Bars are the stacked rectangles, one per day and series with spend.
func (c SpendChart) Bars() []ChartBar {
	n := len(c.Rows)
	if n == 0 {
		return nil
	}
	slot := (chartW - chartLeft - chartRight) / float64(n)
	w := math.Max(slot*0.75, 1)
	var out []ChartBar
	for i, d := range c.Rows {
		x := chartLeft + float64(i)*slot + (slot-w)/2
		var acc int64
		for s, v := range d.Values {
			if v <= 0 {
				continue
			}
			top, bottom := c.y(float64(acc+v)), c.y(float64(acc))
			acc += v
			out = append(out, ChartBar{X: f1(x), Y: f1(top), W: f1(w), H: f1(bottom - top), Class: c.Series[s].Class,
				Title: fmt.Sprintf("%s: %s, %s credits", d.Label, c.Series[s].Label, Credits(v))})
		}
	}
	return out
}

// ChartTick is a labelled position on an axis.
type ChartTick struct {
	X, Y   string
	Label  string
	Anchor string // text-anchor: start, middle or end
}

// YTicks are 0, half and the top.
func (c SpendChart) YTicks() []ChartTick {
	m := c.Max()
	var out []ChartTick
	for _, v := range []int64{0, m / 2, m} {
		out = append(out, ChartTick{X: f1(chartLeft - 6), Y: f1(c.y(float64(v)) + 4), Label: Credits(v), Anchor: "end"})
	}
	return out
}

// XTicks label about six days along the bottom.
func (c SpendChart) XTicks() []ChartTick {
	n := len(c.Rows)
	if n == 0 {
		return nil
	}
	slot := (chartW - chartLeft - chartRight) / float64(n)
	every := max(1, n/6)
	var out []ChartTick
	for i := n - 1; i >= 0; i -= every {
		t := ChartTick{X: f1(chartLeft + (float64(i)+0.5)*slot), Y: f1(chartH - 8), Label: c.Rows[i].Label, Anchor: "middle"}
		if i == n-1 {
			// Today's label ends at the plot's right edge, not past it.
			t.X, t.Anchor = f1(chartW-chartRight), "end"
		}
		out = append(out, t)
	}
	return out
}

// Baseline is the x axis' y.
func (c SpendChart) Baseline() string { return f1(c.y(0)) }

// AxisLeft and AxisRight are the plot's horizontal extent.
func (c SpendChart) AxisLeft() string  { return f1(chartLeft) }
func (c SpendChart) AxisRight() string { return f1(chartW - chartRight) }

// PaceY is the dashed pace line's y; "" when there is no pace.
func (c SpendChart) PaceY() string {
	if c.PacePerDay <= 0 {
		return ""
	}
	return f1(c.y(c.PacePerDay))
}

// Summary describes the chart in words (its <desc>).
func (c SpendChart) Summary() string {
	var total int64
	for _, d := range c.Rows {
		total += d.Total
	}
	return fmt.Sprintf("Credits spent per day over the last %d days (times in %s), stacked by %s: %s credits in all. "+
		"This month so far %s; at the current pace of %.0f a day, the month ends near %s.",
		c.Days, c.Zone, c.By, Credits(total), Credits(c.SpentThisMonth), c.PacePerDay, Credits(c.ProjectedMonth))
}
