package vantage

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// startNetns starts the agent inside the network namespace at path, as
// `ip netns exec` would, without needing the ip command: the agent is
// forked from an OS thread that has entered the namespace (a child starts
// in the namespaces of the thread that forks it), in a mount namespace of
// its own, where it mounts /etc/netns/NAME/* over /etc (resolv.conf,
// hosts) and a sysfs of the namespace over /sys, exactly as ip does. So
// every kind sees that place as a program started there would, including
// the system resolver.
func (s *Set) startNetns(path, name string, reached func()) (*link, error) {
	args := s.agentArgs()
	if name != "" {
		args = append(args, "--etc-netns="+name)
	}
	cmd := exec.Command(s.opts.Executable, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A private mount namespace (Go also makes / private in it), so
		// the agent's mounts are its own and vanish with it.
		Unshareflags: syscall.CLONE_NEWNS,
		Setpgid:      true,
	}
	l, err := pipes(cmd)
	if err != nil {
		return nil, err
	}
	l.sameClock = true
	errc := make(chan error, 1)
	go func() {
		// This thread is never unlocked: it ends with the goroutine
		// instead of going back to the pool in another namespace.
		runtime.LockOSThread()
		ns, err := os.Open(path)
		if err != nil {
			errc <- fmt.Errorf("cannot open the network namespace %s: %v%s", path, err, netnsHint(name))
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("cannot enter the network namespace %s: %v (a netns vantage needs root, or CAP_SYS_ADMIN)", path, err)
			return
		}
		errc <- cmd.Start()
	}()
	if err := <-errc; err != nil {
		l.stdoutW.Close()
		return nil, err
	}
	l.wait, l.kill = processControl(cmd, l)
	reached()
	return l, nil
}

func netnsHint(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf("; `ip netns list` shows the namespaces there are (is %q among them?)", name)
}

// pipes connects the command's standard streams to a new link. Its
// standard output is a pipe of our own, not cmd.StdoutPipe: Wait closes
// that one as soon as the command exits, which would lose the last lines
// (why the agent did not start) to "file already closed". The write end
// is closed here once the command has started (see started).
func pipes(cmd *exec.Cmd) (*link, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = w
	l := &link{stdin: stdin, stdout: bufio.NewReaderSize(r, 64<<10), stderr: &tail{}, stdoutW: w}
	cmd.Stderr = l.stderr
	return l, nil
}

// processControl returns wait and kill for a started command in a process
// group of its own; wait may be called any number of times. It closes this
// side's copy of the command's standard output, so reading it ends when
// the command's copy closes.
func processControl(cmd *exec.Cmd, l *link) (wait func() error, kill func()) {
	l.stdoutW.Close()
	var once sync.Once
	var err error
	done := make(chan struct{})
	go func() {
		once.Do(func() { err = cmd.Wait() })
		close(done)
	}()
	wait = func() error { <-done; return err }
	kill = func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return wait, kill
}

// EnterEtcNetns is the agent's half of a netns vantage: it mounts the
// files of /etc/netns/NAME over those of /etc, in the private mount
// namespace it was started in, and a sysfs of its network namespace over
// /sys, as `ip netns exec` does. A namespace without /etc/netns/NAME uses
// /etc as it is, as with ip.
func EnterEtcNetns(name string) error {
	if err := unix.Unmount("/sys", unix.MNT_DETACH); err == nil {
		// Best effort, as in ip: the old /sys is gone either way.
		unix.Mount(name, "/sys", "sysfs", 0, "")
	}
	dir := filepath.Join("/etc/netns", name)
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, dst := filepath.Join(dir, e.Name()), filepath.Join("/etc", e.Name())
		if err := unix.Mount(src, dst, "none", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mounting %s over %s: %v", src, dst, err)
		}
	}
	return nil
}
