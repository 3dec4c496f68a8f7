package report

import (
	"fmt"
	"html"
	"html/template"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The drawings of the HTML report, written as inline SVG. Their colours
// come from the page's style sheet through class names (pass, fail, error,
// skip), so an SVG holds only geometry and text. Every text from a report
// goes through esc: it may have come from the network.

// esc makes s safe as SVG text or attribute value.
func esc(s string) string { return html.EscapeString(clean(s)) }

// ellipsis shortens s to n characters, ending it with "…" when cut.
func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Geometry of the dependency graph, in pixels.
const (
	nodeW    = 220
	nodeH    = 30
	colGap   = 70
	rowH     = 42
	pad      = 12
	nodeChar = 29 // characters of an address that fit in a node
	// arcRise is the room above the first row for arrows that skip a
	// column.
	arcRise = 26
)

// drawGraph draws the checks that depend on others or that others depend
// on, in columns by dependency depth: a check stands one column right of
// the deepest check it waits for, so arrows run left to right in run
// order. Within a column, checks sit near the average row of what they wait
// for, which keeps most arrows short and uncrossed. A skipped check is
// dashed, and the arrow from a dependency that did not pass is red: that is
// why it was skipped. It returns the SVG, the number of checks drawn and the
// number left out above maxGraphNodes.
func drawGraph(checks []*pageCheck) (template.HTML, int, int) {
	byAddr := make(map[string]*pageCheck, len(checks))
	for _, c := range checks {
		if _, dup := byAddr[c.Address]; !dup {
			byAddr[c.Address] = c
		}
	}
	involved := map[*pageCheck]bool{}
	for _, c := range checks {
		for _, d := range c.DependsOn {
			if dep, ok := byAddr[d]; ok && dep != c {
				involved[c], involved[dep] = true, true
			}
		}
	}
	if len(involved) == 0 {
		return "", 0, 0
	}
	depth := map[*pageCheck]int{}
	var depthOf func(c *pageCheck, seen map[*pageCheck]bool) int
	depthOf = func(c *pageCheck, seen map[*pageCheck]bool) int {
		if d, ok := depth[c]; ok {
			return d
		}
		if seen[c] { // a cycle cannot be planned, but the page must not loop
			return 0
		}
		seen[c] = true
		d := 0
		for _, a := range c.DependsOn {
			if dep, ok := byAddr[a]; ok && dep != c {
				d = max(d, depthOf(dep, seen)+1)
			}
		}
		depth[c] = d
		return d
	}
	nodes := make([]*pageCheck, 0, len(involved))
	for c := range involved {
		depthOf(c, map[*pageCheck]bool{})
		nodes = append(nodes, c)
	}
	sort.Slice(nodes, func(i, j int) bool {
		if depth[nodes[i]] != depth[nodes[j]] {
			return depth[nodes[i]] < depth[nodes[j]]
		}
		return nodes[i].Address < nodes[j].Address
	})
	left := 0
	if len(nodes) > maxGraphNodes {
		left = len(nodes) - maxGraphNodes
		nodes = nodes[:maxGraphNodes]
	}
	shown := make(map[*pageCheck]bool, len(nodes))
	for _, c := range nodes {
		shown[c] = true
	}
	var columns [][]*pageCheck
	for _, c := range nodes {
		d := depth[c]
		for len(columns) <= d {
			columns = append(columns, nil)
		}
		columns[d] = append(columns[d], c)
	}
	row := map[*pageCheck]float64{}
	for ci, col := range columns {
		if ci > 0 {
			centre := func(c *pageCheck) float64 {
				sum, n := 0.0, 0
				for _, a := range c.DependsOn {
					if dep, ok := byAddr[a]; ok && shown[dep] {
						sum += row[dep]
						n++
					}
				}
				if n == 0 {
					return 0
				}
				return sum / float64(n)
			}
			sort.SliceStable(col, func(i, j int) bool { return centre(col[i]) < centre(col[j]) })
		}
		for ri, c := range col {
			row[c] = float64(ri)
		}
	}
	rows := 0
	for _, col := range columns {
		rows = max(rows, len(col))
	}
	width := len(columns)*(nodeW+colGap) - colGap + 2*pad
	height := rows*rowH - (rowH - nodeH) + 2*pad + arcRise
	x := func(c *pageCheck) int { return pad + depth[c]*(nodeW+colGap) }
	y := func(c *pageCheck) int { return pad + arcRise + int(row[c])*rowH }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Dependency graph">`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>`)
	for _, c := range nodes {
		for _, a := range c.DependsOn {
			dep, ok := byAddr[a]
			if !ok || !shown[dep] || dep == c {
				continue
			}
			x1, y1 := x(dep)+nodeW, y(dep)+nodeH/2
			x2, y2 := x(c), y(c)+nodeH/2
			class := "e"
			if dep.Status != "pass" {
				class = "e bad"
			}
			d := fmt.Sprintf("M%d %dC%d %d %d %d %d %d", x1, y1, (x1+x2)/2, y1, (x1+x2)/2, y2, x2-1, y2)
			if span := depth[c] - depth[dep]; span > 1 {
				// Over the columns between, the arrow arcs above the
				// rows instead of running behind the checks there.
				top := min(y(dep), y(c)) - arcRise - 4*(span-2)
				d = fmt.Sprintf("M%d %dC%d %d %d %d %d %d", x(dep)+nodeW/2, y(dep), x(dep)+nodeW/2, top, x2-colGap/2, top, x2-1, y2)
			}
			fmt.Fprintf(&b, `<path class="%s" d="%s" marker-end="url(#arrow)"><title>%s → %s</title></path>`,
				class, d, esc(dep.Address), esc(c.Address))
		}
	}
	for _, c := range nodes {
		title := c.Address + " — " + strings.ToUpper(c.Status)
		if r := c.Reason(); r != "" {
			title += "\n" + r
		}
		fmt.Fprintf(&b, `<g class="n %s" data-a="%s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="6"/><text x="%d" y="%d">%s</text></g>`,
			esc(c.Status), esc(c.Address), esc(title), x(c), y(c), nodeW, nodeH, x(c)+10, y(c)+nodeH/2+4, esc(ellipsis(c.Address, nodeChar)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String()), len(nodes), left
}

// pathView is one traceroute drawn as its hops.
type pathView struct {
	Check *pageCheck
	// Summary is the line above the drawing: where to, reached or not.
	Summary string
	SVG     template.HTML
}

// hop is one TTL of a trace as the result object holds it.
type hop struct {
	ttl         int
	address     string
	rtt         float64
	hasRTT      bool
	replies     int
	unreachable string
}

func hopsOf(r map[string]any) ([]hop, bool) {
	list, ok := r["hops"].([]any)
	if !ok {
		return nil, false
	}
	var hops []hop
	for i, e := range list {
		o, ok := e.(map[string]any)
		if !ok {
			continue
		}
		h := hop{ttl: i + 1}
		if t, ok := o["ttl"].(float64); ok {
			h.ttl = int(t)
		}
		h.address, _ = o["address"].(string)
		h.rtt, h.hasRTT = o["rtt_ms"].(float64)
		if n, ok := o["replies"].(float64); ok {
			h.replies = int(n)
		}
		h.unreachable, _ = o["unreachable"].(string)
		hops = append(hops, h)
	}
	return hops, true
}

// Geometry of a path, in pixels.
const (
	hopW   = 150
	hopH   = 46
	hopGap = 34
)

// drawPaths draws every check whose result holds a list of hops (a
// traceroute): the source, each hop with its address and fastest RTT ("*"
// when nothing answered), and, when the trace did not reach its target, the
// target crossed out. Addresses a failed expectation wanted on the path
// (via) that are not on it are drawn apart, in red. It returns at most
// maxPaths drawings, failures first, and how many it left out.
func drawPaths(sorted []*pageCheck) ([]pathView, int) {
	var out []pathView
	left := 0
	for _, c := range sorted {
		hops, ok := hopsOf(c.Result)
		if !ok {
			continue
		}
		if len(out) == maxPaths {
			left++
			continue
		}
		out = append(out, drawPath(c, hops))
	}
	return out, left
}

func drawPath(c *pageCheck, hops []hop) pathView {
	target, _ := c.Result["host"].(string)
	addr, _ := c.Result["address"].(string)
	reached, _ := c.Result["reached"].(bool)
	onPath := map[string]bool{}
	for _, h := range hops {
		if h.address != "" {
			onPath[normaliseAddr(h.address)] = true
		}
	}
	if list, ok := c.Result["hops"].([]any); ok {
		for _, e := range list {
			if o, ok := e.(map[string]any); ok {
				if as, ok := o["addresses"].([]any); ok {
					for _, a := range as {
						if s, ok := a.(string); ok {
							onPath[normaliseAddr(s)] = true
						}
					}
				}
			}
		}
	}
	var missing []string
	for _, d := range c.Diffs {
		if d.Field != "hops" && d.Field != "via" {
			continue
		}
		for _, a := range addressesIn(d.Expected) {
			if !onPath[normaliseAddr(a)] {
				missing = append(missing, a)
			}
		}
	}

	summary := c.Address + " from " + source(c) + " to " + target
	if addr != "" && addr != target {
		summary += " (" + addr + ")"
	}
	if reached {
		summary += fmt.Sprintf(": reached in %s", hopCount(len(hops)))
	} else {
		summary += fmt.Sprintf(": not reached within %s", hopCount(len(hops)))
	}

	boxes := len(hops) + 1
	if !reached {
		boxes++
	}
	rows := 1
	if len(missing) > 0 {
		rows = 2
	}
	width := boxes*(hopW+hopGap) - hopGap + 2*pad
	height := rows*(hopH+28) - 28 + 2*pad + 14
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="path" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">`, width, height, width, height, esc(summary))
	box := func(i, rowIdx int, class, line1, line2, title string) {
		x, y := pad+i*(hopW+hopGap), pad+rowIdx*(hopH+28)
		fmt.Fprintf(&b, `<g class="hop %s"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="6"/><text x="%d" y="%d" class="a">%s</text><text x="%d" y="%d" class="m">%s</text></g>`,
			class, esc(title), x, y, hopW, hopH, x+hopW/2, y+19, esc(ellipsis(line1, 20)), x+hopW/2, y+36, esc(line2))
		if i > 0 && rowIdx == 0 {
			ym := y + hopH/2
			fmt.Fprintf(&b, `<path class="link" d="M%d %dH%d"/><path class="tip" d="M%d %dl-7 -4v8z"/>`, x-hopGap+2, ym, x-6, x-1, ym)
		}
	}
	box(0, 0, "src", source(c), "source", "where the trace was sent from")
	for i, h := range hops {
		class, line1, line2 := "router", h.address, "TTL "+strconv.Itoa(h.ttl)
		title := fmt.Sprintf("TTL %d: %s", h.ttl, h.address)
		if h.hasRTT {
			line2 += " · " + strconv.FormatFloat(h.rtt, 'f', 2, 64) + " ms"
			title += fmt.Sprintf(", fastest answer %.3f ms, %d replies", h.rtt, h.replies)
		}
		switch {
		case h.address == "":
			class, line1, line2 = "star", "*", "TTL "+strconv.Itoa(h.ttl)+" · no reply"
			title = fmt.Sprintf("TTL %d: no probe was answered", h.ttl)
		case reached && i == len(hops)-1:
			class = "dest"
		case h.unreachable != "":
			class = "unreach"
			line2 += " · " + h.unreachable + " unreachable"
			title += ", answered " + h.unreachable + " unreachable"
		}
		box(i+1, 0, class, line1, line2, title)
	}
	if !reached {
		shown := target
		if addr != "" {
			shown = addr
		}
		box(len(hops)+1, 0, "lost", shown, "not reached", "the target did not answer within the hops probed")
	}
	if len(missing) > 0 {
		y := pad + hopH + 28
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="note">expected via, not on the path:</text>`, pad, y-8)
		for i, a := range missing {
			x := pad + i*(hopW+hopGap)
			fmt.Fprintf(&b, `<g class="hop missing"><title>%s</title><rect x="%d" y="%d" width="%d" height="%d" rx="6"/><text x="%d" y="%d" class="a">%s</text><text x="%d" y="%d" class="m">missing via</text></g>`,
				esc("expected via "+a+": no hop of the path was "+a), x, y, hopW, hopH, x+hopW/2, y+19, esc(a), x+hopW/2, y+36)
		}
	}
	b.WriteString("</svg>")
	return pathView{Check: c, Summary: summary, SVG: template.HTML(b.String())}
}

var quoted = regexp.MustCompile(`"([^"]*)"|([0-9a-fA-F:.]+)`)

// addressesIn finds the IP addresses written in an expected value, such as
// `via ["198.18.2.1", "198.18.3.1"]`.
func addressesIn(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range quoted.FindAllStringSubmatch(s, -1) {
		a := m[1]
		if a == "" {
			a = m[2]
		}
		if _, err := netip.ParseAddr(a); err == nil && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func normaliseAddr(s string) string {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().String()
	}
	return s
}

// Duration buckets of the histogram, upper bounds in milliseconds.
var bucketBounds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}

func bucketLabel(i int) string {
	// The unit is written once, after the upper bound: "100–200ms",
	// "0.5–1s", so that a label fits under its bar.
	unit := func(ms float64) (float64, string) {
		if ms >= 1000 {
			return ms / 1000, "s"
		}
		return ms, "ms"
	}
	switch {
	case i == 0:
		v, u := unit(bucketBounds[0])
		return "<" + num(v) + u
	case i == len(bucketBounds):
		v, u := unit(bucketBounds[i-1])
		return "≥" + num(v) + u
	}
	hi, u := unit(bucketBounds[i])
	lo := bucketBounds[i-1]
	if u == "s" {
		lo /= 1000
	}
	return num(lo) + "–" + num(hi) + u
}

// drawHistogram draws how many checks took how long, in buckets that
// double or so (1, 2, 5, 10 ms…), each bar stacked by verdict, so that a
// slow target stands out as a bar far right. Skipped checks did not run
// and are not counted.
func drawHistogram(checks []*pageCheck) template.HTML {
	statuses := []string{"pass", "fail", "error"}
	counts := make([]map[string]int, len(bucketBounds)+1)
	for i := range counts {
		counts[i] = map[string]int{}
	}
	first, last := len(counts), -1
	for _, c := range checks {
		if c.Status == "skip" {
			continue
		}
		i := sort.SearchFloat64s(bucketBounds, c.DurationMS)
		if i < len(bucketBounds) && c.DurationMS == bucketBounds[i] {
			i++ // bounds are exclusive: 1ms is in 1–2ms
		}
		counts[i][c.Status]++
		first, last = min(first, i), max(last, i)
	}
	if last < 0 {
		return ""
	}
	highest := 0
	for i := first; i <= last; i++ {
		n := 0
		for _, s := range statuses {
			n += counts[i][s]
		}
		highest = max(highest, n)
	}
	const barW, gap, chartH, top, bottom = 62, 10, 140, 18, 22
	n := last - first + 1
	width := n*(barW+gap) - gap + 2*pad
	height := top + chartH + bottom + pad
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Check durations">`, width, height, width, height)
	base := top + chartH
	fmt.Fprintf(&b, `<path class="axis" d="M%d %dH%d"/>`, pad-4, base, width-pad+4)
	for i := first; i <= last; i++ {
		x := pad + (i-first)*(barW+gap)
		y := base
		total := 0
		for _, s := range statuses {
			k := counts[i][s]
			if k == 0 {
				continue
			}
			total += k
			h := max(int(float64(k)/float64(highest)*chartH), 1)
			y -= h
			fmt.Fprintf(&b, `<rect class="b %s" x="%d" y="%d" width="%d" height="%d"><title>%d %s in %s</title></rect>`,
				s, x, y, barW, h, k, plural(k, s), bucketLabel(i))
		}
		if total > 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="c">%d</text>`, x+barW/2, y-4, total)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="l">%s</text>`, x+barW/2, base+15, esc(bucketLabel(i)))
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

func plural(n int, status string) string {
	word := map[string]string{"pass": "passed", "fail": "failed", "error": "errored"}[status]
	if n == 1 {
		return "check " + word
	}
	return "checks " + word
}

// hopCount is "1 hop" or "N hops".
func hopCount(n int) string {
	if n == 1 {
		return "1 hop"
	}
	return fmt.Sprintf("%d hops", n)
}
