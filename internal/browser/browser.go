// Package browser opens pages in Debian's headless Chromium for nettest's
// own tests, so that the HTML report is tested as a person sees it: the
// DOM after its scripts ran (DumpDOM), a picture of it (Screenshot), and
// every request the browser made while loading it (from Chromium's network
// log).
//
// Chromium is started with the flags that keep it off the network: no
// background networking, component updates, sync or QUIC, a fresh profile,
// and a host resolver that maps every name to NOTFOUND, so that even a page
// that tried to fetch something could not reach any address. Each run has
// a deadline; on it the whole process group is killed, so no renderer is
// left behind.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadline bounds one Chromium run.
const deadline = 60 * time.Second

// Require returns the path of chromium, or skips the test (fails it when
// NETTEST_REQUIRE_ROOT=1, as in CI, which installs it) naming the package.
// (It does what lab.RequireBinary does without importing the lab, which
// imports report: the report's own tests use this package.)
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	reason := "needs chromium to open the HTML report (Debian package chromium: apt-get install chromium)"
	if os.Getenv("NETTEST_REQUIRE_ROOT") == "1" {
		t.Fatalf("%s; NETTEST_REQUIRE_ROOT=1 forbids skipping", reason)
	}
	t.Skip(reason)
	return ""
}

// Page is one load of a page in Chromium.
type Page struct {
	// DOM is the serialised document after load, as --dump-dom prints it.
	DOM string
	// Requests are the URLs the page asked for while loading, from the
	// browser's network log: its own file:// URL and whatever else it
	// fetched.
	Requests []string
	// Background are the URLs the browser asked for on its own behalf:
	// Debian's chromium checks for extension updates and signed-in
	// accounts even with background networking off. The host resolver
	// rule makes each fail with ERR_NAME_NOT_RESOLVED before any packet.
	Background []string
	// Connects are the addresses of the TCP connections the browser
	// opened: none, when every name maps to NOTFOUND.
	Connects []string
}

// Options choose what a run captures.
type Options struct {
	// Screenshot, when set, is the PNG file to write instead of dumping the
	// DOM; Width and Height are the window's size (default 1280×900).
	Screenshot    string
	Width, Height int
	// Fragment is added to the URL after '#', to scroll to a section.
	Fragment string
}

// Open loads the file in headless Chromium and returns the DOM (or writes
// the screenshot) and the URLs requested.
func Open(t testing.TB, file string, opt Options) Page {
	t.Helper()
	chromium := Require(t)
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	netLog := filepath.Join(dir, "netlog.json")
	w, h := opt.Width, opt.Height
	if w == 0 {
		w, h = 1280, 900
	}
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
		"--disable-features=NetworkTimeServiceQuerying",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		`--host-resolver-rules=MAP * ~NOTFOUND`,
		"--log-net-log=" + netLog,
		"--window-size=" + strconv.Itoa(w) + "," + strconv.Itoa(h),
	}
	if opt.Screenshot != "" {
		args = append(args, "--screenshot="+opt.Screenshot)
	} else {
		args = append(args, "--dump-dom")
	}
	url := "file://" + abs
	if opt.Fragment != "" {
		url += "#" + opt.Fragment
	}
	args = append(args, url)
	stdout, stderr, err := run(chromium, args, dir)
	if err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
	}
	p := Page{DOM: stdout}
	p.Requests, p.Background, p.Connects = requests(t, netLog)
	return p
}

// run starts chromium in a process group of its own, with home as its
// HOME, and kills the group when the deadline passes or when chromium exits
// leaving helpers behind.
func run(chromium string, args []string, home string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+home) // its own ~/.config, ~/.cache and ~/.pki
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers of a finished browser, if any
	}
	if ctx.Err() != nil {
		err = errors.New("did not finish within " + deadline.String())
	}
	return out.String(), errb.String(), err
}

// requests reads a Chromium network log: the URLs of the requests the
// page made (any URL request with an initiator, which the browser's own
// background requests lack), the URLs the browser requested on its own
// behalf, and the addresses of TCP connections it opened.
func requests(t testing.TB, netLog string) (page, background, connects []string) {
	t.Helper()
	data, err := os.ReadFile(netLog)
	if err != nil {
		t.Fatalf("reading chromium's network log: %v", err)
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int            `json:"type"`
			Phase  int            `json:"phase"`
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("chromium's network log does not parse: %v", err)
	}
	types := log.Constants.LogEventTypes
	start, connect := types["URL_REQUEST_START_JOB"], types["TCP_CONNECT"]
	if start == 0 || connect == 0 {
		t.Fatalf("chromium's network log names no URL_REQUEST_START_JOB or TCP_CONNECT events: it is not read right")
	}
	for _, ev := range log.Events {
		switch {
		case ev.Type == start:
			url, _ := ev.Params["url"].(string)
			if url == "" {
				continue
			}
			if initiator, _ := ev.Params["initiator"].(string); initiator == "not an origin" {
				background = append(background, url)
			} else {
				page = append(page, url)
			}
		case ev.Type == connect:
			if list, ok := ev.Params["address_list"].([]any); ok {
				for _, a := range list {
					connects = append(connects, fmt.Sprint(a))
				}
			}
		}
	}
	return page, background, connects
}

// Screenshot writes to out a PNG of the parts of the page that the CSS selector
// show picks out (such as "header, #failures"), everything else hidden,
// in a window width pixels wide, trimmed of the empty margin below and to
// the right. The page is copied with one style rule added; the original is
// left alone.
func Screenshot(t testing.TB, page, out, show string, width int) {
	t.Helper()
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// The hiding rule is less specific than the showing one, so that
	// "header" in show wins over hiding every header.
	rule := "<style>header,section,footer{display:none!important}html body :is(" + show + "){display:block!important}</style></head>"
	variant := strings.Replace(string(src), "</head>", rule, 1)
	copyPath := filepath.Join(t.TempDir(), filepath.Base(page))
	if err := os.WriteFile(copyPath, []byte(variant), 0o644); err != nil {
		t.Fatal(err)
	}
	loaded := Open(t, copyPath, Options{Screenshot: out, Width: width, Height: 3000})
	AssertNoRequests(t, loaded)
	if err := trim(out, 24); err != nil {
		t.Fatalf("trimming %s: %v", out, err)
	}
}

// trim crops the PNG file to its content, the bounding box of every pixel
// that is not white, plus margin pixels, from the top-left corner.
func trim(path string, margin int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		return err
	}
	b := img.Bounds()
	right, bottom := b.Min.X, b.Min.Y
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				right, bottom = max(right, x), max(bottom, y)
			}
		}
	}
	if bottom == b.Min.Y {
		return errors.New("the screenshot is blank")
	}
	crop := image.Rect(b.Min.X, b.Min.Y, min(right+margin, b.Max.X), min(bottom+margin, b.Max.Y))
	out := image.NewRGBA(crop)
	draw.Draw(out, crop, img, crop.Min, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// AssertNoRequests fails the test when loading the page requested anything
// but file:// URLs, or when the browser connected anywhere.
func AssertNoRequests(t testing.TB, p Page) {
	t.Helper()
	for _, u := range p.Requests {
		if !strings.HasPrefix(u, "file://") {
			t.Errorf("the page requested %s; it must load nothing", u)
		}
	}
	for _, a := range p.Connects {
		t.Errorf("the browser connected to %s", a)
	}
}
