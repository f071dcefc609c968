package web

import (
	"encoding/csv"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sportello/sportello/internal/csvsafe"
	"github.com/sportello/sportello/internal/desk"
)

// Dashboard charts are drawn on the server as SVG: no script, nothing
// inline that the CSP would block. Each chart has a title and description
// for assistive technology, labels and values written next to every bar,
// fill patterns besides colour (legible in print and without colour
// vision), and the same numbers as a table and as CSV.

// chart is one chart of the dashboard.
type chart struct {
	ID      string
	Title   string
	Desc    string
	Columns []string   // table header
	Rows    [][]string // table rows (labels and numbers)
	SVG     template.HTML
}

// CSV returns the chart's data with its header.
func (c chart) CSV() [][]string { return append([][]string{c.Columns}, c.Rows...) }

// fill returns the i-th fill of a chart (see patternDefs).
func fill(id string, i int) string { return fmt.Sprintf("url(#%s-p%d)", id, i%4) }

// patternDefs defines the fills: solid blue, diagonal stripes, dots and
// cross-hatch, all dark on light so they print in black and white.
func patternDefs(id string) string {
	return fmt.Sprintf(`<defs>`+
		`<pattern id="%[1]s-p0" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#0066cc"/></pattern>`+
		`<pattern id="%[1]s-p1" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#d9e8f7"/><rect width="3" height="6" fill="#004d99"/></pattern>`+
		`<pattern id="%[1]s-p2" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#fde6cc"/><circle cx="3" cy="3" r="1.6" fill="#7a3d00"/></pattern>`+
		`<pattern id="%[1]s-p3" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#e0f0e3"/><path d="M0 0L6 6M6 0L0 6" stroke="#1f5b2e" stroke-width="1.2"/></pattern>`+
		`</defs>`, id)
}

// barChart draws horizontal bars, one per row, with the label on the left
// and the value at the end of the bar.
func barChart(id, title, desc string, labels []string, values []int64, texts []string) template.HTML {
	const width, labelW, rowH, pad = 520, 200, 30, 8
	var max int64
	for _, v := range values {
		if v > max {
			max = v
		}
	}
	h := pad*2 + rowH*len(labels)
	if len(labels) == 0 {
		h = 40
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="sp-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" focusable="false">`, width, h, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	b.WriteString(patternDefs(id))
	// Leave room after the longest bar for its value (about 9 px a
	// character at this size), so that no value text is cut off.
	room := 60
	for i, v := range values {
		text := strconv.FormatInt(v, 10)
		if texts != nil {
			text = texts[i]
		}
		if n := 9*utf8.RuneCountInString(text) + 12; n > room {
			room = n
		}
	}
	barMax := float64(width - labelW - room)
	for i, l := range labels {
		y := pad + i*rowH
		w := 0.0
		if max > 0 {
			w = barMax * float64(values[i]) / float64(max)
		}
		if values[i] > 0 && w < 2 {
			w = 2
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="15" fill="#1a1a1a">%s</text>`, labelW-8, y+19, html.EscapeString(clipLabel(l, 24)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s" stroke="#1a1a1a" stroke-width="0.8"/>`, labelW, y+4, w, rowH-10, fill(id, i))
		text := strconv.FormatInt(values[i], 10)
		if texts != nil {
			text = texts[i]
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="15" font-weight="600" fill="#1a1a1a">%s</text>`, float64(labelW)+w+6, y+19, html.EscapeString(text))
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1a1a1a"/>`, labelW, pad, labelW, h-pad)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text was escaped above
}

// trendChart draws two bars per day, opened (solid) and resolved
// (stripes), with a legend and the numbers above the bars.
func trendChart(id, title, desc string, days []string, opened, resolved []int64, legendOpened, legendResolved string) template.HTML {
	const height, top, bottom, left = 260, 40, 40, 10
	n := len(days)
	groupW := 64
	if n > 10 {
		groupW = 22
	}
	width := left*2 + groupW*n
	if width < 320 {
		width = 320
	}
	var max int64 = 1
	for i := range days {
		if opened[i] > max {
			max = opened[i]
		}
		if resolved[i] > max {
			max = resolved[i]
		}
	}
	plotH := float64(height - top - bottom)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="sp-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" focusable="false">`, width, height, id, id)
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, id, html.EscapeString(title), id, html.EscapeString(desc))
	b.WriteString(patternDefs(id))
	// Legend.
	fmt.Fprintf(&b, `<rect x="%d" y="8" width="16" height="14" fill="%s" stroke="#1a1a1a" stroke-width="0.8"/><text x="%d" y="20" font-size="15" fill="#1a1a1a">%s</text>`,
		left, fill(id, 0), left+22, html.EscapeString(legendOpened))
	fmt.Fprintf(&b, `<rect x="%d" y="8" width="16" height="14" fill="%s" stroke="#1a1a1a" stroke-width="0.8"/><text x="%d" y="20" font-size="15" fill="#1a1a1a">%s</text>`,
		left+160, fill(id, 1), left+182, html.EscapeString(legendResolved))
	barW := float64(groupW-8) / 2
	for i, d := range days {
		x := float64(left + i*groupW + 4)
		for j, v := range []int64{opened[i], resolved[i]} {
			hh := plotH * float64(v) / float64(max)
			y := float64(height-bottom) - hh
			bx := x + float64(j)*barW
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" stroke="#1a1a1a" stroke-width="0.8"/>`, bx, y, barW, hh, fill(id, j))
			if n <= 10 || v > 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%d" fill="#1a1a1a">%d</text>`, bx+barW/2, y-4, fontFor(n), v)
			}
		}
		if n <= 10 || i%5 == 0 || i == n-1 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="%d" fill="#1a1a1a">%s</text>`, x+barW, height-bottom+18, fontFor(n), html.EscapeString(d))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1a1a1a"/>`, left, height-bottom, width-left, height-bottom)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text was escaped above
}

func fontFor(n int) int {
	if n > 10 {
		return 11
	}
	return 15
}

func clipLabel(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// dashboardCharts builds the dashboard's charts in the page's language.
func dashboardCharts(p *Page, d desk.Dashboard) []chart {
	var out []chart
	slices := func(id string, ss []desk.Slice, label func(desk.Slice) string) {
		var labels []string
		var values []int64
		var rows [][]string
		var total int64
		for _, s := range ss {
			l := label(s)
			labels = append(labels, l)
			values = append(values, s.N)
			rows = append(rows, []string{l, strconv.FormatInt(s.N, 10)})
			total += s.N
		}
		title := p.T("dash." + id + ".title")
		desc := p.T("dash.desc.bars", total)
		out = append(out, chart{ID: id, Title: title, Desc: desc, Columns: []string{p.T("dash." + id + ".col"), p.T("dash.col.tickets")},
			Rows: rows, SVG: barChart("ch-"+id, title, desc, labels, values, nil)})
	}
	slices("status", d.ByStatus, func(s desk.Slice) string { return p.StatusLabel(desk.Status(s.Key)) })
	slices("channel", d.ByChannel, func(s desk.Slice) string { return p.ChannelLabel(desk.Channel(s.Key)) })
	named := func(s desk.Slice) string {
		if s.Key == "" {
			return p.T("dash.none")
		}
		return s.Label
	}
	slices("service", d.ByService, named)
	slices("queue", d.ByQueue, named)

	var days []string
	var opened, resolved []int64
	var rows [][]string
	var to, tr int64
	for _, td := range d.Trend {
		label := td.Day.Format("02/01")
		days = append(days, label)
		opened = append(opened, td.Opened)
		resolved = append(resolved, td.Resolved)
		to += td.Opened
		tr += td.Resolved
		rows = append(rows, []string{td.Day.Format("2006-01-02"), strconv.FormatInt(td.Opened, 10), strconv.FormatInt(td.Resolved, 10)})
	}
	title := p.T("dash.trend.title", d.Days)
	desc := p.T("dash.trend.desc", to, tr)
	out = append(out, chart{ID: "trend", Title: title, Desc: desc,
		Columns: []string{p.T("dash.col.day"), p.T("dash.col.opened"), p.T("dash.col.resolved")}, Rows: rows,
		SVG: trendChart("ch-trend", title, desc, days, opened, resolved, p.T("dash.col.opened"), p.T("dash.col.resolved"))})

	// Response and resolution times: average hours over 7 and 30 days.
	hours := func(dd time.Duration) float64 { return dd.Hours() }
	tlabels := []string{p.T("dash.times.response7"), p.T("dash.times.response30"), p.T("dash.times.resolution7"), p.T("dash.times.resolution30")}
	tvals := []time.Duration{d.Week.AvgResponse, d.Month.AvgResponse, d.Week.AvgResolution, d.Month.AvgResolution}
	tcounts := []int64{d.Week.Responded, d.Month.Responded, d.Week.Resolved, d.Month.Resolved}
	var tr2 [][]string
	var minutes []int64
	var texts []string
	for i := range tlabels {
		h := strconv.FormatFloat(hours(tvals[i]), 'f', 1, 64)
		tr2 = append(tr2, []string{tlabels[i], h, strconv.FormatInt(tcounts[i], 10)})
		minutes = append(minutes, int64(tvals[i]/time.Minute))
		texts = append(texts, p.T("dash.hours", h, tcounts[i]))
	}
	title = p.T("dash.times.title")
	desc = p.T("dash.times.desc")
	out = append(out, chart{ID: "times", Title: title, Desc: desc,
		Columns: []string{p.T("dash.times.col"), p.T("dash.col.hours"), p.T("dash.col.tickets")}, Rows: tr2,
		SVG: barChart("ch-times", title, desc, tlabels, minutes, texts)})
	return out
}

// writeCSV sends rows as a CSV download. Cells that a spreadsheet would
// take for a formula are prefixed with an apostrophe.
func writeCSV(rw http.ResponseWriter, name string, rows [][]string) {
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(rw)
	for _, r := range rows {
		_ = cw.Write(csvsafe.Row(append([]string(nil), r...)))
	}
	cw.Flush()
}
