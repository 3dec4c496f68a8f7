// Package ulimit is the ulimit check: what resource limits does a process
// run with? A web server that inherited "open files: 1024" from a unit file
// fails under load long after the deploy that broke it, so the limits are
// worth checking right after the deploy, beside the ports.
//
// It reads /proc/PID/limits, which holds the soft and hard value of every
// limit of a running process, in the kernel's units (bytes, not the KiB the
// shell's ulimit builtin shows for some).
package ulimit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Unlimited is how a result writes the kernel's "unlimited".
const Unlimited = -1

// Limit names one resource limit: the name nettest uses (that of prlimit(1)
// and RLIMIT_*, in lower case) and the line that holds it in /proc/PID/limits.
type Limit struct {
	Name  string
	Label string
	Unit  string
}

// Limits are all the limits Linux has, in the order /proc/PID/limits lists them.
var Limits = []Limit{
	{"cpu", "Max cpu time", "seconds"},
	{"fsize", "Max file size", "bytes"},
	{"data", "Max data size", "bytes"},
	{"stack", "Max stack size", "bytes"},
	{"core", "Max core file size", "bytes"},
	{"rss", "Max resident set", "bytes"},
	{"nproc", "Max processes", "processes"},
	{"nofile", "Max open files", "files"},
	{"memlock", "Max locked memory", "bytes"},
	{"as", "Max address space", "bytes"},
	{"locks", "Max file locks", "locks"},
	{"sigpending", "Max pending signals", "signals"},
	{"msgqueue", "Max msgqueue size", "bytes"},
	{"nice", "Max nice priority", "20 minus the nice value"},
	{"rtprio", "Max realtime priority", "priority"},
	{"rttime", "Max realtime timeout", "microseconds"},
}

// Config is what a ulimit block says: at most one of pid and process.
type Config struct {
	PID     *int    `cty:"pid"`
	Process *string `cty:"process"`
}

// Result is what a ulimit check observed.
type Result struct {
	// PID is the process whose limits were read.
	PID int
	// Process is its name (/proc/PID/comm).
	Process string
	// Matched is the number of processes that had the name asked for (1
	// when the process was chosen by pid or is nettest itself).
	Matched int
	// Soft and Hard hold every limit by name; Unlimited for "unlimited". A
	// limit the kernel does not list is absent.
	Soft, Hard map[string]int64
}

// resultType has a soft (nofile) and a hard (nofile_hard) field per limit.
// It is made when first asked for, as the kind is (checks.RegisterFunc).
var resultType = sync.OnceValue(func() cty.Type {
	attrs := map[string]cty.Type{"pid": cty.Number, "process": cty.String, "matched": cty.Number}
	for _, l := range Limits {
		attrs[l.Name] = cty.Number
		attrs[l.Name+"_hard"] = cty.Number
	}
	return cty.Object(attrs)
})

// ObjectType is the object type of every result, for checks.Encoded.
func (Result) ObjectType() cty.Type { return resultType() }

// Object encodes the result; a limit the kernel did not list is null.
func (r Result) Object() cty.Value {
	attrs := map[string]cty.Value{
		"pid":     cty.NumberIntVal(int64(r.PID)),
		"process": cty.StringVal(r.Process),
		"matched": cty.NumberIntVal(int64(r.Matched)),
	}
	value := func(m map[string]int64, name string) cty.Value {
		if v, ok := m[name]; ok {
			return cty.NumberIntVal(v)
		}
		return cty.NullVal(cty.Number)
	}
	for _, l := range Limits {
		attrs[l.Name] = value(r.Soft, l.Name)
		attrs[l.Name+"_hard"] = value(r.Hard, l.Name)
	}
	return cty.ObjectVal(attrs)
}

func init() {
	checks.RegisterFunc("ulimit", func() checks.Kind {
		var expect []checks.Expectation
		for _, l := range Limits {
			what := strings.TrimPrefix(l.Label, "Max ")
			doc := func(which, phrase string) string {
				return fmt.Sprintf(`The %s limit on %s (in %s) must be %s this: a whole number, or "unlimited" (also written -1).`, which, what, l.Unit, phrase)
			}
			expect = append(expect,
				bound(l.Name+"_min", l.Name, "at least", doc("soft", "at least"), func(c int) bool { return c >= 0 }),
				bound(l.Name+"_max", l.Name, "at most", doc("soft", "at most"), func(c int) bool { return c <= 0 }),
				bound(l.Name+"_hard_min", l.Name+"_hard", "at least", doc("hard", "at least"), func(c int) bool { return c >= 0 }),
				bound(l.Name+"_hard_max", l.Name+"_hard", "at most", doc("hard", "at most"), func(c int) bool { return c <= 0 }),
			)
		}
		return checks.Kind{
			Name:    "ulimit",
			Summary: "Reads the resource limits (open files, processes, core size, …) of a running process from /proc/PID/limits.",
			Docs: map[string]checks.ArgDoc{
				"pid":     {Doc: "The process to read, by PID. Give pid or process, not both; neither reads nettest's own limits.", Validate: checks.IntRange(1, math.MaxInt32)},
				"process": {Doc: "The process to read, by name (its /proc/PID/comm or the base name of its executable); when several run, the oldest.", Validate: validName},
			},
			Expect: expect,
			Probe:  checks.Typed(Config{}, Probe),
		}
	})
}

func validName(v cty.Value) error {
	s := v.AsString()
	if s == "" || strings.Contains(s, "/") {
		return fmt.Errorf("%q is not a process name; write the name alone, such as \"nginx\", without a directory", s)
	}
	return nil
}

// ValidLimit accepts what a *_min or *_max expectation may hold: a whole
// number, -1 or "unlimited".
func ValidLimit(v cty.Value) error {
	_, err := limitValue(v)
	return err
}

// limitValue reads an expected limit as a number, with "unlimited" and -1
// as +Inf so that comparisons treat unlimited as larger than any number.
func limitValue(v cty.Value) (*big.Float, error) {
	switch v.Type() {
	case cty.String:
		s := strings.TrimSpace(v.AsString())
		if s == "unlimited" || s == "infinity" {
			return new(big.Float).SetInf(false), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a limit; write a whole number or \"unlimited\"", s)
		}
		v = cty.NumberIntVal(n)
	case cty.Number:
	default:
		return nil, fmt.Errorf("a limit is a whole number or \"unlimited\", not %s", v.Type().FriendlyName())
	}
	f := v.AsBigFloat()
	if !f.IsInt() || f.Cmp(big.NewFloat(Unlimited)) < 0 {
		return nil, fmt.Errorf("a limit is a whole number from 0 up, or \"unlimited\" (also written -1), got %s", checks.Show(v))
	}
	if f.Cmp(big.NewFloat(Unlimited)) == 0 {
		return new(big.Float).SetInf(false), nil
	}
	return f, nil
}

// showLimit writes an observed limit for a diff.
func showLimit(v cty.Value) string {
	if v.Type() == cty.Number && v.IsKnown() && !v.IsNull() && v.AsBigFloat().Cmp(big.NewFloat(Unlimited)) == 0 {
		return `"unlimited"`
	}
	return checks.Show(v)
}

// bound compares a limit with "unlimited" counted as larger than any number,
// whichever way either side spells it.
func bound(name, field, phrase, doc string, ok func(int) bool) checks.Expectation {
	return checks.Expectation{Name: name, Type: cty.DynamicPseudoType, Doc: doc, Validate: ValidLimit, Compare: func(want, result cty.Value) *checks.Diff {
		got := checks.Field(result, field)
		w, werr := limitValue(want)
		diff := &checks.Diff{Field: field, Expected: phrase + " " + checks.Show(want), Actual: showLimit(got) + readFrom(result)}
		if werr != nil || got.Type() != cty.Number || !got.IsKnown() || got.IsNull() {
			return diff
		}
		g, gerr := limitValue(got)
		if gerr != nil || !ok(g.Cmp(w)) {
			return diff
		}
		return nil
	}}
}

// Probe finds the process and reads its limits once.
func Probe(ctx context.Context, cfg Config) (Result, error) {
	var r Result
	switch {
	case cfg.PID != nil && cfg.Process != nil:
		return r, errors.New("give pid or process, not both")
	case cfg.PID != nil:
		r.PID, r.Matched = *cfg.PID, 1
	case cfg.Process != nil:
		pids, err := FindProcess(ctx, *cfg.Process)
		if err != nil {
			return r, err
		}
		if len(pids) == 0 {
			return r, fmt.Errorf("no process named %s is running (looked for it as /proc/PID/comm and as the executable's base name)", *cfg.Process)
		}
		r.PID, r.Matched = pids[0], len(pids)
	default:
		r.PID, r.Matched = os.Getpid(), 1
	}

	dir := "/proc/" + strconv.Itoa(r.PID)
	// The name first, so that every failure says which process it read.
	if comm, err := os.ReadFile(dir + "/comm"); err == nil {
		r.Process = strings.TrimSuffix(string(comm), "\n")
	}
	who := processName(r.Process, r.PID)
	f, err := os.Open(dir + "/limits")
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return r, fmt.Errorf("no process with PID %d is running", r.PID)
		case errors.Is(err, fs.ErrPermission):
			return r, fmt.Errorf("cannot read the limits of %s: permission denied on %s/limits; run nettest as root or as the process's user", who, dir)
		}
		return r, fmt.Errorf("cannot read the limits of %s: %v", who, err)
	}
	defer f.Close()
	r.Soft, r.Hard, err = parseLimits(f)
	if err != nil {
		return r, fmt.Errorf("cannot read the limits of %s from %s/limits: %v", who, dir, err)
	}
	return r, nil
}

// processName names a process for messages: "nginx" (PID 812), or PID 812
// when its name is unknown.
func processName(name string, pid int) string {
	if name == "" {
		return fmt.Sprintf("PID %d", pid)
	}
	return fmt.Sprintf("%q (PID %d)", name, pid)
}

// readFrom says, in an unmet expectation, whose limit it was: the process
// the check read, which is not always the one meant when several share a
// name. It is "" for a result without a PID.
func readFrom(result cty.Value) string {
	name, pid := checks.Field(result, "process"), checks.Field(result, "pid")
	n, p := "", 0
	if name.Type() == cty.String && name.IsKnown() && !name.IsNull() {
		n = name.AsString()
	}
	if pid.Type() == cty.Number && pid.IsKnown() && !pid.IsNull() {
		i, _ := pid.AsBigFloat().Int64()
		p = int(i)
	}
	if p == 0 {
		return ""
	}
	return " (of " + processName(n, p) + ")"
}

// parseLimits reads the table of /proc/PID/limits. Its columns are padded
// with spaces, and the limit names have spaces too, so a line is recognised
// by its label and the two values after it.
func parseLimits(f *os.File) (soft, hard map[string]int64, err error) {
	soft, hard = map[string]int64{}, map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, l := range Limits {
			rest, ok := strings.CutPrefix(line, l.Label+" ")
			if !ok {
				continue
			}
			fields := strings.Fields(rest)
			if len(fields) < 2 {
				return nil, nil, fmt.Errorf("unexpected line %q", line)
			}
			if soft[l.Name], err = parseValue(fields[0]); err != nil {
				return nil, nil, fmt.Errorf("unexpected line %q: %v", line, err)
			}
			if hard[l.Name], err = parseValue(fields[1]); err != nil {
				return nil, nil, fmt.Errorf("unexpected line %q: %v", line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(soft) == 0 {
		return nil, nil, errors.New("no limits in it")
	}
	return soft, hard, nil
}

func parseValue(s string) (int64, error) {
	if s == "unlimited" {
		return Unlimited, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt64 {
		// Only RLIM_INFINITY is this large, and the kernel writes that
		// as "unlimited"; keep the meaning if some kernel does not.
		return Unlimited, nil
	}
	return int64(n), nil
}

// FindProcess returns the PIDs of the processes named name, oldest first.
// A process matches when its comm (the name ps shows, cut to 15 bytes by the
// kernel) is name, or when the base name of its executable or of its argv[0]
// is: that way a name longer than 15 bytes still finds its process, and so
// does a program started through a symbolic link under either name.
func FindProcess(ctx context.Context, name string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("cannot list processes in /proc: %v", err)
	}
	type match struct {
		pid   int
		start uint64
	}
	var found []match
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dir := "/proc/" + e.Name()
		if !processNamed(dir, name) {
			continue
		}
		start, ok := startTime(dir)
		if !ok {
			continue // it exited meanwhile
		}
		found = append(found, match{pid, start})
	}
	// PIDs wrap around, so the oldest process is the one that started
	// first, not the one with the lowest PID; equal start times (the same
	// clock tick) fall back to the PID.
	sort.Slice(found, func(i, j int) bool {
		if found[i].start != found[j].start {
			return found[i].start < found[j].start
		}
		return found[i].pid < found[j].pid
	})
	pids := make([]int, len(found))
	for i, m := range found {
		pids[i] = m.pid
	}
	return pids, nil
}

func processNamed(dir, name string) bool {
	if comm, err := os.ReadFile(dir + "/comm"); err == nil && strings.TrimSuffix(string(comm), "\n") == name {
		return true
	}
	// The link of an executable that was replaced or removed reads
	// "/usr/sbin/nginx (deleted)".
	if exe, err := os.Readlink(dir + "/exe"); err == nil && filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == name {
		return true
	}
	if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cmdline) > 0 {
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if argv0 != "" && filepath.Base(argv0) == name {
			return true
		}
	}
	return false
}

// startTime reads field 22 of /proc/PID/stat: the time the process started,
// in clock ticks since boot. The command name before it is in parentheses
// and may itself hold spaces and parentheses, so fields count from the last
// ")".
func startTime(dir string) (uint64, bool) {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, false
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state), so field 22 is fields[19].
	if len(fields) < 20 {
		return 0, false
	}
	start, err := strconv.ParseUint(fields[19], 10, 64)
	return start, err == nil
}
