package vantage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/nettest/nettest/schema"
)

// startExec runs the vantage's command with the agent's command line
// appended: agent_path's, or a small sh script that receives the running
// binary on standard input first.
func (s *Set) startExec(ctx context.Context, ex *schema.ExecVantage, reached func()) (*link, error) {
	argv := append([]string{}, ex.Command...)
	copyBinary := ex.AgentPath == ""
	if copyBinary {
		script, err := s.bootstrapScript()
		if err != nil {
			return nil, err
		}
		argv = append(argv, "sh", "-c", script)
	} else {
		argv = append(append(argv, ex.AgentPath), s.agentArgs()...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// Its own process group: Ctrl-C at the terminal reaches nettest, which
	// then ends the agent in order, rather than the command dying first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	l, err := pipes(cmd)
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		l.stdoutW.Close()
		return nil, fmt.Errorf("cannot run %s: %v", argv[0], err)
	}
	l.wait, l.kill = processControl(cmd, l)
	reached()
	if copyBinary {
		if err := s.sendBinary(ctx, l); err != nil {
			l.kill()
			return nil, err
		}
	}
	return l, nil
}

// bootstrapMarker starts the lines the bootstrap script prints before the
// agent's own.
const bootstrapMarker = "nettest-bootstrap:"

// bootstrapScript is the sh program that brings the agent to a far side
// which has none. It checks the platform, makes a private temporary
// directory, reads exactly the binary's size from standard input into it
// (head -c, which reads no further), runs the agent on the rest of the
// input, and removes the directory when the agent exits, however it
// exits: closed input, an error, or a kill of the agent alone. The script
// holds no single quote, so it can be quoted for a remote shell as it is.
func (s *Set) bootstrapScript() (string, error) {
	st, err := os.Stat(s.opts.Executable)
	if err != nil {
		return "", fmt.Errorf("cannot read this nettest binary to copy it across: %v; set agent_path", err)
	}
	machines, ok := unameMachines[runtime.GOARCH]
	if runtime.GOOS != "linux" || !ok {
		return "", fmt.Errorf("this nettest is built for %s/%s and cannot be copied to the vantage; set agent_path to a nettest there", runtime.GOOS, runtime.GOARCH)
	}
	agent := `"$d/nettest"`
	for _, a := range s.agentArgs() {
		agent += " " + a
	}
	lines := []string{
		`p="$(uname -s)/$(uname -m)"`,
		`case "$p" in Linux/` + strings.Join(machines, "|Linux/") + `) ;; *) echo "` + bootstrapMarker + ` platform $p"; exit 3;; esac`,
		`d=$(mktemp -d "${TMPDIR:-/tmp}/nettest-agent.XXXXXXXX") || exit 4`,
		`cleanup() { rm -rf "$d"; }`,
		`trap cleanup EXIT`,
		`trap "exit 129" HUP INT TERM PIPE`,
		`echo "` + bootstrapMarker + ` send $d"`,
		`head -c ` + strconv.FormatInt(st.Size(), 10) + ` > "$d/nettest" || exit 5`,
		`chmod 700 "$d/nettest"`,
		agent,
	}
	return strings.Join(lines, "\n"), nil
}

// unameMachines are the `uname -m` names of each GOARCH a copied binary
// runs on.
var unameMachines = map[string][]string{
	"amd64":   {"x86_64"},
	"arm64":   {"aarch64", "arm64"},
	"386":     {"i386", "i486", "i586", "i686"},
	"riscv64": {"riscv64"},
	"ppc64le": {"ppc64le"},
	"s390x":   {"s390x"},
}

// sendBinary answers the bootstrap script: it waits for its go-ahead and
// copies the running binary to its standard input, or reports why the far
// side cannot take it.
func (s *Set) sendBinary(ctx context.Context, l *link) error {
	type got struct {
		line string
		err  error
	}
	ch := make(chan got, 1)
	go func() {
		line, err := l.stdout.ReadString('\n')
		ch <- got{strings.TrimSpace(line), err}
	}()
	var g got
	select {
	case g = <-ch:
	case <-ctx.Done():
		return fmt.Errorf("no answer from the far side within %s", connectTimeout)
	}
	switch {
	case g.err != nil:
		return fmt.Errorf("the command ended before the agent could be copied%s", l.exitReason())
	case strings.HasPrefix(g.line, bootstrapMarker+" platform "):
		return fmt.Errorf("the far side is %s and this nettest is built for %s/%s: set agent_path to a nettest built for it", strings.TrimPrefix(g.line, bootstrapMarker+" platform "), runtime.GOOS, runtime.GOARCH)
	case !strings.HasPrefix(g.line, bootstrapMarker+" send "):
		return fmt.Errorf("the far side printed %q where the copy script should have started (does the command run `sh -c SCRIPT` there?)", g.line)
	}
	l.copiedTo = strings.TrimPrefix(g.line, bootstrapMarker+" send ")
	f, err := os.Open(s.opts.Executable)
	if err != nil {
		return fmt.Errorf("cannot read this nettest binary to copy it across: %v", err)
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(l.stdin, f)
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return fmt.Errorf("copying the agent did not finish within %s", connectTimeout)
	}
	if err != nil {
		return fmt.Errorf("copying the agent across: %v%s", err, l.exitReason())
	}
	return nil
}
