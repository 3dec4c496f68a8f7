package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nettest/nettest/internal/browser"
	"github.com/nettest/nettest/internal/lab"
	"github.com/nettest/nettest/report"
	"golang.org/x/net/html"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "rewrite the HTML report's screenshots in docs/")

// TestLabHTMLReport runs a suite through two routers with --html and opens
// the page in headless Chromium, as a reviewer opens the CI artifact: every
// check is on it, the failures come first, the matrix cells carry the
// verdicts the JSON report gives, the failing traceroute shows the router
// it missed, the skipped dependents are in the graph, and loading the page
// made no request to any address.
//
//	client 198.18.0.1 — r1 198.18.0.2 | 198.18.0.5 — r2 198.18.0.6 | 198.18.0.9 — server 198.18.0.10
func TestLabHTMLReport(t *testing.T) {
	l := lab.New(t)
	browser.Require(t)
	client, r1, r2, server := l.Host("client"), l.Host("r1"), l.Host("r2"), l.Host("server")
	l.Link(client, "198.18.0.1/30", r1, "198.18.0.2/30")
	l.Link(r1, "198.18.0.5/30", r2, "198.18.0.6/30")
	l.Link(r2, "198.18.0.9/30", server, "198.18.0.10/30")
	const srv = "198.18.0.10"
	server.Run(t, "ip", "addr", "add", "198.18.1.1/32", "dev", "lo")
	for _, r := range []struct {
		h        *lab.Host
		dst, via string
	}{
		{client, "198.18.0.0/15", "198.18.0.2"},
		{r1, "198.18.0.8/30", "198.18.0.6"},
		{r1, "198.18.1.0/24", "198.18.0.6"},
		{r2, "198.18.0.0/30", "198.18.0.5"},
		{r2, "198.18.1.0/24", srv},
		{server, "198.18.0.0/15", "198.18.0.9"},
	} {
		r.h.Run(t, "ip", "route", "add", r.dst, "via", r.via)
	}
	for _, h := range []*lab.Host{r1, r2} {
		h.Forwarding(t)
		if err := h.Do(func() error { return os.WriteFile("/proc/sys/net/ipv4/icmp_ratelimit", []byte("0"), 0o644) }); err != nil {
			t.Fatal(err)
		}
	}
	// The backup network behind r2 is firewalled: the trace to it ends at r2.
	r2.Iptables(t, "-A", "FORWARD", "-d", "198.18.1.1", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "5432", "-j", "DROP")
	server.Iptables(t, "-A", "INPUT", "-p", "tcp", "--dport", "3306", "-j", "REJECT", "--reject-with", "tcp-reset")
	server.StartNginx(t, `
		listen 198.18.0.10:80;
		location = /healthz { return 200 "ok\n"; }
		location = /admin { return 403 "no\n"; }`)
	server.StartDnsmasq(t, "--listen-address="+srv, "--local=/lab.test/",
		"--host-record=www.lab.test,"+srv, "--host-record=api.lab.test,"+srv)
	client.Resolv(t, srv)
	client.Hosts(t)

	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	// A relative path, as a user types it: the page shows file:line with it.
	r := runIn(t, 30*time.Second, client.Name(), "test", "--json", "--html="+page, "testdata/lab/html", "--var", "server="+srv, "--var", "r2_netns="+r2.Name())
	defer logOnFailure(t, "html suite", r)
	if r.code != 1 {
		t.Errorf("exit code %d, want 1 (checks failed)", r.code)
	}
	got, _ := verdicts(t, r)
	pass := want{status: "pass"}
	assertVerdicts(t, got, map[string]want{
		"tcp.web":           pass,
		"tcp.postgres":      pass,
		"tcp.mysql":         pass,
		"http.health":       pass,
		"dns.www":           pass,
		"http.www_by_dns":   pass,
		"traceroute.server": pass,
		"tcp.postgres_open": {status: "fail", diffs: []diff{{"open", "true", "false (filtered: no answer within the timeout)"}}},
		"http.admin":        {status: "fail", diffs: []diff{{"status", "200", "403"}}},
		"dns.api":           {status: "fail", diffs: []diff{{"answers", `["198.18.0.99"]`, `["198.18.0.10"]`}}},
		"traceroute.via_firewall": {status: "fail", diffs: []diff{
			{"reached", "true", "false"},
			{"hops", `via ["198.18.0.2", "198.18.9.1"]`, `["198.18.0.2", "198.18.0.6"] (no "198.18.9.1" after "198.18.0.2")`},
		}},
		"http.api_by_dns":   {status: "skip", message: "dependency dns.api did not pass (fail)"},
		"tcp.api_tls":       {status: "skip", message: "did not pass"},
		"tcp.nope":          {status: "error", message: `cannot resolve host "nope.lab.test"`},
		"tcp.legacy":        {status: "skip", message: "skip is true"},
		"tcp.web_from_r2":   pass,
		"tcp.mysql_from_r2": {status: "fail", diffs: []diff{{"open", "true", "false (closed: connection refused)"}}},
	})

	loaded := browser.Open(t, page, browser.Options{})
	browser.AssertNoRequests(t, loaded)
	doc, err := html.Parse(strings.NewReader(loaded.DOM))
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, doc, got)

	// The pictures in the README, each of one part of the page.
	for _, shot := range []struct{ name, show string }{
		{"html-summary.png", "header, #failures"},
		{"html-matrix.png", "#matrix"},
		{"html-paths.png", "#paths"},
		{"html-graph.png", "#graph"},
	} {
		png := filepath.Join(dir, shot.name)
		browser.Screenshot(t, page, png, shot.show, 1100)
		if *updateScreenshots {
			data, err := os.ReadFile(png)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "..", "docs", shot.name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkPage asserts what a person sees on the page of a run whose JSON
// report said got.
func checkPage(t *testing.T, doc *html.Node, got map[string]report.Result) {
	t.Helper()
	// Nothing is loaded from anywhere: no src, no href but to the page's
	// own sections, and the policy that forbids it.
	csp := false
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "src", a.Key == "srcset", a.Key == "xlink:href":
				t.Errorf("<%s %s=%q>: the page must load nothing", n.Data, a.Key, a.Val)
			case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
				t.Errorf("<%s href=%q>: a link out of the page", n.Data, a.Val)
			case a.Key == "http-equiv" && a.Val == "Content-Security-Policy":
				csp = strings.HasPrefix(attr(n, "content"), "default-src 'none';")
			}
		}
		if n.Data == "link" || n.Data == "iframe" || n.Data == "img" || n.Data == "object" {
			t.Errorf("<%s> on the page", n.Data)
		}
	})
	if !csp {
		t.Error("no Content-Security-Policy forbidding everything but inline style and script")
	}

	// Every check is a row of the table, failures first, the row's status
	// the report's. A row's cells are status, address, kind, from, …
	var rows [][]string
	walk(byID(doc, "checks"), func(n *html.Node) {
		if n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Data == "td" {
					cells = append(cells, textOf(c))
				}
			}
			rows = append(rows, cells)
		}
	})
	if len(rows) != len(got) {
		t.Errorf("%d rows in the table of checks, want %d", len(rows), len(got))
	}
	rank := map[string]int{"fail": 0, "error": 1, "skip": 2, "pass": 3}
	last := 0
	for _, row := range rows {
		status, addr := row[0], row[1]
		if v, ok := got[addr]; !ok {
			t.Errorf("row %s is not a check of the run", addr)
		} else if v.Status != status {
			t.Errorf("row %s says %s, the JSON report %s", addr, status, v.Status)
		}
		if rank[status] < last {
			t.Errorf("row %s (%s) comes after a check that passed or was skipped", addr, status)
		}
		last = rank[status]
		if from := row[3]; strings.HasSuffix(addr, "_from_r2") != (from == "r2") {
			t.Errorf("row %s: from %q", addr, from)
		}
	}

	// The failures section lists exactly the failed and errored checks,
	// before anything else, with their diffs.
	failures := byID(doc, "failures")
	if failures == nil || byID(doc, "matrix") == nil {
		t.Fatal("no failures or matrix section")
	}
	var listed []string
	walk(failures, func(n *html.Node) {
		if n.Data == "article" {
			listed = append(listed, attr(n, "data-a"))
		}
	})
	for addr, v := range got {
		if (v.Status == "fail" || v.Status == "error") != slices.Contains(listed, addr) {
			t.Errorf("%s (%s): in the failures section %v", addr, v.Status, slices.Contains(listed, addr))
		}
	}
	if text := textOf(failures); !strings.Contains(text, `no "198.18.9.1" after "198.18.0.2"`) || !strings.Contains(text, "paths.nettest.hcl:") {
		t.Errorf("the failures section lacks the traceroute's diff or the file:line:\n%s", text)
	}

	// The matrix: a row for here and one for r2, and a cell for each
	// destination holding each check's verdict and observed state.
	var sources []string
	walk(byID(doc, "matrix"), func(n *html.Node) {
		if n.Data == "th" && n.Parent != nil && n.Parent.Parent != nil && n.Parent.Parent.Data == "tbody" {
			sources = append(sources, textOf(n))
		}
	})
	if strings.Join(sources, " ") != "here r2" {
		t.Errorf("matrix rows %q, want here and r2", sources)
	}
	cells := map[string]*html.Node{}
	walk(byID(doc, "matrix"), func(n *html.Node) {
		if n.Data == "span" && attr(n, "data-a") != "" {
			cells[attr(n, "data-a")] = n
		}
	})
	wantCells := map[string]string{
		"tcp.web_from_r2": "open", "tcp.mysql_from_r2": "closed",
		"tcp.web": "open", "tcp.postgres": "filtered", "tcp.mysql": "closed", "tcp.postgres_open": "filtered",
		"http.health": "200", "http.admin": "403", "dns.www": "NOERROR", "dns.api": "NOERROR", "http.www_by_dns": "200",
		"traceroute.server": "reached", "traceroute.via_firewall": "not reached",
	}
	for addr, state := range wantCells {
		c := cells[addr]
		if c == nil {
			t.Errorf("%s: no matrix cell", addr)
			continue
		}
		if class := attr(c, "class"); class != "v "+got[addr].Status {
			t.Errorf("%s: cell class %q, want verdict %q", addr, class, got[addr].Status)
		}
		if s := textOf(c); s != state {
			t.Errorf("%s: cell shows %q, want %q", addr, s, state)
		}
		if title := attr(c, "title"); !strings.HasPrefix(title, addr+": ") {
			t.Errorf("%s: cell title %q does not name the check", addr, title)
		}
	}
	if title := attr(cells["tcp.postgres_open"], "title"); !strings.Contains(title, "open: expected true, got false (filtered") {
		t.Errorf("a failing cell's title shows no expected value: %q", title)
	}
	if len(cells) != len(wantCells) {
		t.Errorf("%d checks in the matrix, want %d", len(cells), len(wantCells))
	}

	// The path that missed its router: r1 and r2 drawn, the firewall that
	// was expected drawn apart as missing, the target as not reached.
	paths := textOf(byID(doc, "paths"))
	for _, s := range []string{"traceroute.via_firewall", "198.18.0.2", "198.18.0.6", "missing via", "198.18.9.1", "not reached", "traceroute.server"} {
		if !strings.Contains(paths, s) {
			t.Errorf("the paths lack %q:\n%s", s, paths)
		}
	}
	// The graph: the skipped chain behind dns.api, with the red arrows.
	graph := byID(doc, "graph")
	nodes := map[string]string{}
	bad := 0
	walk(graph, func(n *html.Node) {
		if n.Data == "g" && attr(n, "data-a") != "" {
			nodes[attr(n, "data-a")] = attr(n, "class")
		}
		if n.Data == "path" && attr(n, "class") == "e bad" {
			bad++
		}
	})
	for addr, class := range map[string]string{"dns.api": "n fail", "http.api_by_dns": "n skip", "tcp.api_tls": "n skip", "dns.www": "n pass", "http.www_by_dns": "n pass"} {
		if nodes[addr] != class {
			t.Errorf("graph node %s: class %q, want %q", addr, nodes[addr], class)
		}
	}
	if bad != 3 { // dns.api → http.api_by_dns, dns.api → tcp.api_tls, http.api_by_dns → tcp.api_tls
		t.Errorf("%d red arrows in the graph, want 3", bad)
	}
	// The inline script ran (the policy lets it): the filters are shown.
	if f := byID(doc, "filters"); f == nil || hasAttr(f, "hidden") {
		t.Error("the filters are still hidden: the inline script did not run")
	}
}

func walk(n *html.Node, fn func(*html.Node)) {
	if n == nil {
		return
	}
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if found == nil && n.Type == html.ElementNode && attr(n, "id") == id {
			found = n
		}
	})
	return found
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return strings.TrimSpace(b.String())
}
