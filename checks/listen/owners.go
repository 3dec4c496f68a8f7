package listen

import (
	"errors"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The kernel knows which user created a socket but not which processes hold
// it: a socket is a file, and any number of processes may have it open (an
// nginx master and its workers, a systemd socket unit and its service).
// /proc/PID/fd lists each process's open files, a socket as the link
// "socket:[INODE]", so the owners of a socket are the processes with a
// link to its inode. Another user's /proc/PID/fd can be read only by root
// (or with CAP_SYS_PTRACE); such processes are counted so the result can say
// why an owner may be missing.

// procRoot is where the process table is read; tests of the parsing may
// point it elsewhere.
var procRoot = "/proc"

// Process is one process holding a listening socket open.
type Process struct {
	// Name is the process's command name (/proc/PID/comm): the program's
	// file name, cut to 15 bytes by the kernel.
	Name string `cty:"name"`
	PID  int    `cty:"pid"`
	// User is the name of the process's effective user, or its number
	// when /etc/passwd has no entry for it.
	User string `cty:"user"`
	UID  int    `cty:"uid"`
}

// ownerScan is what a walk of /proc found.
type ownerScan struct {
	// owners are the processes holding any of the inodes, by pid.
	owners []Process
	// hidden counts processes whose open files this user may not read.
	hidden int
}

// findOwners returns the processes that hold a socket with one of the
// inodes open, sorted by pid.
func findOwners(inodes map[uint32]bool) ownerScan {
	var scan ownerScan
	if len(inodes) == 0 {
		return scan
	}
	want := make(map[string]bool, len(inodes))
	for ino := range inodes {
		want["socket:["+strconv.FormatUint(uint64(ino), 10)+"]"] = true
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return scan
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		fdDir := filepath.Join(procRoot, e.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			// A process that exited meanwhile is not hidden, only gone.
			if errors.Is(err, fs.ErrPermission) {
				scan.hidden++
			}
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !want[link] {
				continue
			}
			if p, ok := readProcess(pid); ok {
				scan.owners = append(scan.owners, p)
			}
			break
		}
	}
	sort.Slice(scan.owners, func(i, j int) bool { return scan.owners[i].PID < scan.owners[j].PID })
	return scan
}

// readProcess reads the name and effective user of a process.
func readProcess(pid int) (Process, bool) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	comm, err := os.ReadFile(filepath.Join(dir, "comm"))
	if err != nil {
		return Process{}, false
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return Process{}, false
	}
	uid, ok := effectiveUID(string(status))
	if !ok {
		return Process{}, false
	}
	return Process{Name: strings.TrimSuffix(string(comm), "\n"), PID: pid, User: userName(uid), UID: uid}, true
}

// effectiveUID reads the second number of the "Uid:" line of
// /proc/PID/status (real, effective, saved, filesystem).
func effectiveUID(status string) (int, bool) {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) < 2 {
				return 0, false
			}
			uid, err := strconv.Atoi(f[1])
			return uid, err == nil
		}
	}
	return 0, false
}

// userName turns a uid into a name as ls and ps do: from the user database,
// or the number itself when it has no entry.
func userName(uid int) string {
	id := strconv.Itoa(uid)
	if u, err := user.LookupId(id); err == nil {
		return u.Username
	}
	return id
}
