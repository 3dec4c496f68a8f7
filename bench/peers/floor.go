package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/miekg/dns"
)

// runFloor is the floor of kind: a parse of the file (parse, parse-pieces),
// or the bare loop, p workers doing what one check does to each target of
// the file, printing how many came out as expected.
func runFloor(kind, file string, p int) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		return 2
	}
	switch kind {
	case "parse":
		return printParsed(parseWhole(data, file))
	case "parse-pieces":
		return printParsed(parsePieces(data, file))
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var do func(string) bool
	switch kind {
	case "tcp":
		do = func(line string) bool {
			addr, open, _ := strings.Cut(line, " ")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return (err == nil) == (open == "true")
		}
	case "http":
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
		do = func(url string) bool {
			resp, err := client.Get(url)
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == 200
		}
	case "dns", "dns-plain":
		// The query a dns check sends: EDNS0 with a 1232-byte UDP buffer,
		// as dig and resolvers do (checks/dns), the answer read into a
		// buffer of that size. dns-plain is the classic query without
		// EDNS0, into miekg's 512-byte default, for reference.
		edns := kind == "dns"
		do = func(line string) bool {
			name, server, _ := strings.Cut(line, " ")
			c := &dns.Client{Timeout: 5 * time.Second}
			m := new(dns.Msg)
			m.SetQuestion(dns.Fqdn(name), dns.TypeA)
			if edns {
				m.SetEdns0(1232, false) // miekg reads into a buffer of the size the query advertises
			}
			r, _, err := c.Exchange(m, server)
			if err != nil || len(r.Answer) != 1 {
				return false
			}
			a, ok := r.Answer[0].(*dns.A)
			return ok && a.A.String() == "127.0.0.1"
		}
	default:
		fmt.Printf("unknown kind %q\n", kind)
		return 2
	}
	var next, good atomic.Int64
	var wg sync.WaitGroup
	for range p {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(lines) {
					return
				}
				if do(lines[i]) {
					good.Add(1)
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("%d of %d as expected\n", good.Load(), len(lines))
	return 0
}

// pieceSize is the size of the pieces parse-pieces cuts, the size
// nettest's loader aims at (schema/parse.go).
const pieceSize = 4 << 10

// parseWhole is the floor of loading: hclsyntax.ParseConfig of the whole
// file, the one call every HCL loader makes, and nothing else. It returns
// the top-level blocks.
func parseWhole(src []byte, name string) (hclsyntax.Blocks, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	return f.Body.(*hclsyntax.Body).Blocks, diags
}

// parsePieces is the floor of loading as nettest parses a large file: cut
// at the starts of top-level blocks into pieces of about pieceSize, each
// parsed with hclsyntax.ParseConfig at its true position, on every core.
// The cut relies on the layout of the generated suites (a top-level block
// starts in column one, nothing else does), where schema/parse.go must
// read strings, comments and heredocs to find the same places; that scan
// is nettest's own cost, not the parser's.
func parsePieces(src []byte, name string) (hclsyntax.Blocks, hcl.Diagnostics) {
	starts := []hcl.Pos{hcl.InitialPos}
	line, last := 1, 0
	for i, c := range src {
		if c != '\n' {
			continue
		}
		line++
		if i+1 < len(src) && i+1-last >= pieceSize && isLetter(src[i+1]) {
			last = i + 1
			starts = append(starts, hcl.Pos{Line: line, Column: 1, Byte: last})
		}
	}
	diags := make([]hcl.Diagnostics, len(starts))
	blocks := make([]hclsyntax.Blocks, len(starts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(starts)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(starts) {
					return
				}
				end := len(src)
				if i+1 < len(starts) {
					end = starts[i+1].Byte
				}
				f, d := hclsyntax.ParseConfig(src[starts[i].Byte:end], name, starts[i])
				diags[i], blocks[i] = d, f.Body.(*hclsyntax.Body).Blocks
			}
		})
	}
	wg.Wait()
	var all hcl.Diagnostics
	var joined hclsyntax.Blocks
	for i := range starts {
		all = append(all, diags[i]...)
		joined = append(joined, blocks[i]...)
	}
	return joined, all
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// printParsed prints what a parse floor found: the number of top-level
// blocks, or the diagnostics.
func printParsed(blocks hclsyntax.Blocks, diags hcl.Diagnostics) int {
	if diags.HasErrors() {
		fmt.Println(diags.Error())
		return 1
	}
	fmt.Printf("%d blocks\n", len(blocks))
	return 0
}
