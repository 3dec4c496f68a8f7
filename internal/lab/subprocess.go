package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A probe's privileges are those of the process that runs it, so a test of
// what an ordinary user sees (user nobody, root without CAP_NET_RAW) must
// run the probe in another process. ProbeMain makes the test binary that
// process: started with probeEnv set to a request, it runs one probe and
// prints the reply instead of running tests. ProbeAs starts it.

// probeEnv carries the JSON probeRequest to a test binary run by ProbeAs.
const probeEnv = "NETTEST_LAB_PROBE"

type probeRequest[C any] struct {
	Config  C
	Timeout time.Duration
}

// ProbeReply is what a probe run by ProbeAs returned: its result, its
// error's text ("" for none) and how long it took.
type ProbeReply[R any] struct {
	Result  R
	Error   string
	Elapsed time.Duration
}

// ProbeMain is the TestMain of a package whose tests call ProbeAs: when the
// binary was started by ProbeAs it runs probe once and exits, otherwise it
// runs the tests and removes the copy of the binary ProbeAs made.
func ProbeMain[C, R any](m *testing.M, probe func(context.Context, C) (R, error)) {
	if req := os.Getenv(probeEnv); req != "" {
		os.Exit(serveProbe(req, probe))
	}
	code := m.Run()
	if probeBinPath != "" {
		os.RemoveAll(filepath.Dir(probeBinPath))
	}
	os.Exit(code)
}

func serveProbe[C, R any](req string, probe func(context.Context, C) (R, error)) int {
	var r probeRequest[C]
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, "lab: bad probe request:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.Timeout)
	defer cancel()
	start := time.Now()
	res, err := probe(ctx, r.Config)
	reply := ProbeReply[R]{Result: res, Elapsed: time.Since(start)}
	if err != nil {
		reply.Error = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(reply); err != nil {
		fmt.Fprintln(os.Stderr, "lab: writing the probe's reply:", err)
		return 2
	}
	return 0
}

// Commands that change who ProbeAs's process runs as. setpriv comes with
// util-linux, which every Debian system has.
var (
	// AsNobody runs as user and group nobody, without supplementary groups.
	AsNobody = []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	// AsRootWithoutNetRaw keeps root but drops CAP_NET_RAW from the
	// bounding set, so the exec'd binary cannot have it.
	AsRootWithoutNetRaw = []string{"setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw"}
)

var (
	probeBinOnce sync.Once
	probeBinPath string
	probeBinErr  error
)

// probeBinary returns a copy of this test binary that any user may run: go
// test keeps its own copy in a directory only root can enter.
func probeBinary(t testing.TB) string {
	t.Helper()
	probeBinOnce.Do(func() {
		var dir string
		if dir, probeBinErr = os.MkdirTemp("", "nettest-probe-"); probeBinErr != nil {
			return
		}
		if probeBinErr = os.Chmod(dir, 0o755); probeBinErr != nil {
			return
		}
		path := filepath.Join(dir, filepath.Base(os.Args[0]))
		var b []byte
		if b, probeBinErr = os.ReadFile(os.Args[0]); probeBinErr != nil {
			return
		}
		if probeBinErr = os.WriteFile(path, b, 0o755); probeBinErr == nil {
			probeBinPath = path
		}
	})
	if probeBinErr != nil {
		t.Fatalf("lab: copying the test binary: %v", probeBinErr)
	}
	return probeBinPath
}

// ProbeAs runs the package's probe (see ProbeMain) on cfg in a new process
// of this test binary, inside the namespace of h (nil: this host's),
// prefixed by wrap (AsNobody, …) and with env (NAME=VALUE) added to its
// environment, under a context that ends after timeout. A process that does
// not print a reply fails the test.
func ProbeAs[R, C any](t testing.TB, h *Host, wrap, env []string, timeout time.Duration, cfg C) ProbeReply[R] {
	t.Helper()
	req, err := json.Marshal(probeRequest[C]{Config: cfg, Timeout: timeout})
	if err != nil {
		t.Fatalf("lab: encoding the probe request: %v", err)
	}
	args := append([]string{"env", probeEnv + "=" + string(req)}, env...)
	args = append(append(args, wrap...), probeBinary(t))
	var stdout, stderr string
	var code int
	if h != nil {
		stdout, stderr, code = h.Exec(args...)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		var e strings.Builder
		cmd.Stderr = &e
		out, err := cmd.Output()
		stdout, stderr = string(out), e.String()
		if err != nil {
			code = -1
			stderr += "\nlab: " + err.Error()
		}
	}
	var reply ProbeReply[R]
	if err := json.Unmarshal([]byte(stdout), &reply); code != 0 || err != nil {
		where := "this host"
		if h != nil {
			where = h.Name()
		}
		t.Fatalf("lab: the probe process in %s exited %d: %v\nstdout:\n%s\nstderr:\n%s", where, code, err, stdout, stderr)
	}
	return reply
}
