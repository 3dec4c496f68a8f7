// Package launcher runs the benchmarks' child processes and measures each
// one's own wall time, CPU time and peak resident set.
//
// The peak RSS that getrusage gives for a child of a Go program is wrong:
// Go starts a child with clone(CLONE_VM|CLONE_VFORK), so until its execve
// the child shares the parent's memory, and execve records that memory's
// high-water mark in the child's maxrss, which only ever grows. A child's
// figure is therefore never below the benchmark's own peak: after a
// benchmark has held 138 MiB, /bin/true "uses" 138 MiB. A real fork does
// not help, since the copy starts with the parent's resident set as its
// high-water mark. What a child inherits is the high-water mark of the
// process that starts it, so this package starts children from a process
// kept small: the launcher, the benchmark's own program started again
// (Start; its execve gives it memory of its own), which does nothing but
// start a child, wait for it and send back its rusage. Before each child
// it gives its free heap back, drops the pages of code and constant data
// its packages' initialisation touched (they are only mapped file) and
// sets its high-water mark back to what is left (/proc/self/clear_refs
// 5): under 3 MiB, less than any Go program holds.
//
// The other ways were measured and rejected. GNU time (-f %M) forks from a
// process of about 1 MiB, but costs an execve of its own per run: 1.3 ms of
// wall time and 0.9 ms of CPU on this machine, 15% of a one-check nettest
// validate, whose target is 10 ms; and it reports CPU in centiseconds.
// ptrace with PTRACE_O_TRACEEXIT reads the child's VmHWM at its exit stop
// exactly, but stops the child's main thread at every signal it receives
// (the Go runtime preempts with SIGURG): on a loaded machine each stop
// waits for the scheduler, and validate of 100,000 checks took 6.8 s of
// wall time instead of 4.0 s. The launcher starts and waits for the child
// as os/exec does, so wall and CPU time are what they were (the same to
// within the noise, measured alternately); the request and the answer
// travel outside the measured interval.
//
// A figure at or below the launcher's own high-water mark is only an
// upper bound, and Usage.Bounded says so; every child the benchmarks
// measure is larger.
package launcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// envLauncher marks the process Start starts as the launcher.
const envLauncher = "NETTEST_BENCH_LAUNCHER"

// Usage is what one child process cost.
type Usage struct {
	Wall time.Duration // from before its start to after its end
	CPU  time.Duration // user plus system
	// PeakRSS is the child's peak resident set in KiB: its maxrss, which
	// is its own high-water mark or the launcher's, whichever is higher.
	PeakRSS int64
	// LauncherRSS is the launcher's own high-water mark in KiB, below
	// which PeakRSS cannot go.
	LauncherRSS int64
	// Exit is the exit status, or 128 plus the signal that killed it.
	Exit int
}

// Bounded reports whether PeakRSS is not above the launcher's own
// high-water mark: then the child's own peak is at most PeakRSS.
func (u Usage) Bounded() bool { return u.PeakRSS <= u.LauncherRSS }

// Launcher is a running launcher process. Its methods may be called from
// several goroutines; the children run one at a time.
type Launcher struct {
	mu   sync.Mutex
	conn *net.UnixConn
}

// request asks the launcher to run one child. Its standard output and
// error are the two descriptors sent with it.
type request struct {
	Path string
	Argv []string
	Env  []string
}

// answer is the launcher's report on one child.
type answer struct {
	Err         string
	WallNS      int64
	CPUNS       int64
	MaxRSS      int64 // KiB
	LauncherHWM int64 // KiB, the launcher's VmHWM as it started the child
	Exit        int
}

// Serve makes this process the launcher if Start started it as one, and
// then never returns; otherwise it returns at once. A benchmark's main
// calls it first, before it does anything else.
func Serve() {
	if os.Getenv(envLauncher) == "" {
		return
	}
	os.Exit(serve())
}

// Start starts the launcher: the running program again, with the
// environment variable that makes Serve take over.
func Start() (*Launcher, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	// A socket of datagrams keeps the messages apart and carries the
	// child's descriptors with its request.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("launcher: socketpair: %v", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "launcher"), os.NewFile(uintptr(fds[1]), "launcher")
	defer theirs.Close()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envLauncher+"=1")
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		ours.Close()
		return nil, fmt.Errorf("launcher: %v", err)
	}
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("launcher: %v", err)
	}
	go cmd.Wait() // reaps it once it sees the socket closed
	return &Launcher{conn: c.(*net.UnixConn)}, nil
}

// Close stops the launcher. A child still running goes on alone.
func (l *Launcher) Close() error {
	return l.conn.Close()
}

// Run runs argv with the environment env (the benchmark's own when nil),
// standard input from /dev/null, and standard output and error into the
// writers given (discarded when nil), and returns what the child cost.
func (l *Launcher) Run(argv, env []string, stdout, stderr io.Writer) (Usage, error) {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return Usage{}, err
	}
	if env == nil {
		env = os.Environ()
	}
	var copying sync.WaitGroup
	var files []*os.File // the child's ends, sent and then closed here
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, w := range []io.Writer{stdout, stderr} {
		if w == nil {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				return Usage{}, err
			}
			files = append(files, f)
			continue
		}
		r, wf, err := os.Pipe()
		if err != nil {
			return Usage{}, err
		}
		files = append(files, wf)
		copying.Go(func() {
			io.Copy(w, r)
			r.Close()
		})
	}
	req, _ := json.Marshal(request{Path: path, Argv: argv, Env: env})

	l.mu.Lock()
	defer l.mu.Unlock()
	rights := syscall.UnixRights(int(files[0].Fd()), int(files[1].Fd()))
	if _, _, err := l.conn.WriteMsgUnix(req, rights, nil); err != nil {
		return Usage{}, fmt.Errorf("launcher: %v", err)
	}
	// The launcher holds its own copies now: ours must go, or the copying
	// never sees the end of the child's output.
	for _, f := range files {
		f.Close()
	}
	files = nil
	buf := make([]byte, 4096)
	n, _, _, _, err := l.conn.ReadMsgUnix(buf, nil)
	if err != nil || n == 0 {
		return Usage{}, fmt.Errorf("launcher: no answer (%v)", err)
	}
	copying.Wait()
	var a answer
	if err := json.Unmarshal(buf[:n], &a); err != nil {
		return Usage{}, fmt.Errorf("launcher: %v", err)
	}
	if a.Err != "" {
		return Usage{}, errors.New(a.Err)
	}
	return Usage{
		Wall:        time.Duration(a.WallNS),
		CPU:         time.Duration(a.CPUNS),
		PeakRSS:     a.MaxRSS,
		LauncherRSS: a.LauncherHWM,
		Exit:        a.Exit,
	}, nil
}

// serve is the launcher's loop: one request, one child, one answer, until
// the benchmark closes the socket.
func serve() int {
	f := os.NewFile(3, "launcher")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "launcher: %v\n", err)
		return 2
	}
	conn := c.(*net.UnixConn)
	null, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintf(os.Stderr, "launcher: %v\n", err)
		return 2
	}
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(2*4))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return 0 // the benchmark is done
		}
		a := launch(buf[:n], oob[:oobn], null)
		b, _ := json.Marshal(a)
		if _, _, err := conn.WriteMsgUnix(b, nil, nil); err != nil {
			return 0
		}
	}
}

// launch runs one child as os/exec would, timing it from just before the
// fork to just after the wait.
func launch(msg, oob []byte, null *os.File) answer {
	var fds []int
	if cmsgs, err := syscall.ParseSocketControlMessage(oob); err == nil && len(cmsgs) == 1 {
		fds, _ = syscall.ParseUnixRights(&cmsgs[0])
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	var req request
	if err := json.Unmarshal(msg, &req); err != nil || len(fds) != 2 {
		return answer{Err: fmt.Sprintf("launcher: a malformed request (%v, %d descriptors)", err, len(fds))}
	}
	attr := &syscall.ProcAttr{Env: req.Env, Files: []uintptr{null.Fd(), uintptr(fds[0]), uintptr(fds[1])}}
	// The child inherits the launcher's high-water mark: make it no more
	// than what the launcher holds. (The few pages of code the child runs
	// before its execve are faults of its own, some microseconds: no
	// difference to os/exec could be measured.)
	shrink()
	resetPeak()
	hwm := ownHWM()
	start := time.Now()
	pid, err := syscall.ForkExec(req.Path, req.Argv, attr)
	if err != nil {
		return answer{Err: fmt.Sprintf("starting %s: %v", req.Path, err)}
	}
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &ws, 0, &ru)
		if err != syscall.EINTR {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		return answer{Err: fmt.Sprintf("waiting for %s: %v", req.Path, err)}
	}
	exit := ws.ExitStatus()
	if ws.Signaled() {
		exit = 128 + int(ws.Signal())
	}
	return answer{
		WallNS:      int64(wall),
		CPUNS:       ru.Utime.Nano() + ru.Stime.Nano(),
		MaxRSS:      ru.Maxrss,
		LauncherHWM: hwm,
		Exit:        exit,
	}
}

// ownHWM is this process's VmHWM in KiB (0 when /proc does not say).
func ownHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := strings.CutPrefix(string(line), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// shrink makes the launcher's resident set small: it gives back the heap
// that is not live (reading smaps makes garbage of a few hundred KiB each
// time) and drops the pages of the program's file mappings that hold
// nothing but the file (its code and constant data): a large program touches megabytes of them while its packages
// initialise, none of which the launcher needs again, and the kernel reads
// back from the page cache any page that is used. A mapping with a page of
// its own (Anonymous in smaps: written data, or a library's relocations
// made read-only afterwards) is left alone: dropping it would lose what
// was written.
func shrink() {
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return
	}
	type span struct{ start, end uint64 }
	var drop []span
	var m span
	file := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's header: address perms offset dev inode [path].
			lo, hi, _ := strings.Cut(f[0], "-")
			var err1, err2 error
			m.start, err1 = strconv.ParseUint(lo, 16, 64)
			m.end, err2 = strconv.ParseUint(hi, 16, 64)
			file = err1 == nil && err2 == nil && f[4] != "0" && f[1][1] != 'w'
		case file && len(f) >= 2 && f[0] == "Anonymous:" && f[1] == "0":
			drop = append(drop, m)
		}
	}
	b = nil
	// The collection runs code of its own: drop the pages after it.
	debug.FreeOSMemory()
	for _, m := range drop {
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), syscall.MADV_DONTNEED)
	}
}

// resetPeak sets this process's high-water mark back to its resident set
// (clear_refs 5), so that the child about to be started inherits no more.
func resetPeak() {
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
