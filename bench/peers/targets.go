package main

import (
	"fmt"
	"strings"
	"time"
)

// The targets of issue 11, as numbers.
const (
	maxRatio       = 1.5 // nettest's wall and CPU against the bare loop's
	maxKiBPerCheck = 2.0 // nettest's peak RSS beyond the bare loop's, per check
	maxStartUp     = 10 * time.Millisecond
	maxLoad        = time.Second // validate and plan of 100,000 checks; for_each over 50,000
	maxLoadMiB     = 300
)

// kibPerCheck is a nettest row's peak RSS beyond the floor's, per check,
// for the workloads that probe (the floor is the bare loop).
func kibPerCheck(w workload, r, floor row) (float64, bool) {
	switch w.kind {
	case "tcp", "http", "dns":
	default:
		return 0, false
	}
	if r.role != roleNettest {
		return 0, false
	}
	return float64(r.usage.PeakRSS-floor.usage.PeakRSS) / float64(w.n), true
}

// verdict is the target for a row and whether this run met it:
// "held", or "NOT held" with the figures that missed. Only nettest rows
// have targets, and only at the sizes the issue names for load and
// foreach. A wall time that misses while the CPU time would have met the
// same bound says so, since the machine may be shared.
func verdict(w workload, r row, rows []row) (target, held string) {
	if r.role != roleNettest {
		return "-", "-"
	}
	floor := rows[0].usage
	var missed []string
	within := func(limit time.Duration) {
		if r.usage.Wall > limit {
			m := "wall " + fmt.Sprint(round(r.usage.Wall))
			if r.usage.CPU <= limit {
				m += fmt.Sprintf(" (CPU %s would hold)", round(r.usage.CPU))
			}
			missed = append(missed, m)
		}
	}
	ratios := func() {
		if x := r.usage.Wall.Seconds() / floor.Wall.Seconds(); x > maxRatio {
			missed = append(missed, fmt.Sprintf("wall %.2f×", x))
		}
		if x := r.usage.CPU.Seconds() / floor.CPU.Seconds(); x > maxRatio {
			missed = append(missed, fmt.Sprintf("CPU %.2f×", x))
		}
	}
	switch {
	case w.kind == "tcp":
		target = "≤1.5× wall and CPU, ≤2 KiB/check"
		ratios()
		if kib, _ := kibPerCheck(w, r, rows[0]); kib > maxKiBPerCheck {
			missed = append(missed, fmt.Sprintf("%.1f KiB/check", kib))
		}
	case w.kind == "http" || w.kind == "dns":
		target = "≤1.5× wall and CPU, wall < goss"
		ratios()
		goss := -1
		for i, o := range rows {
			if o.role == roleGoss {
				goss = i
			}
		}
		if goss < 0 {
			missed = append(missed, "no goss in this run")
		} else if g := rows[goss].usage; r.usage.Wall >= g.Wall {
			missed = append(missed, fmt.Sprintf("wall %.2f× goss's (CPU %.2f×)", r.usage.Wall.Seconds()/g.Wall.Seconds(), r.usage.CPU.Seconds()/g.CPU.Seconds()))
		}
	case w.kind == "load" && w.n == 1:
		target = "≤10 ms"
		within(maxStartUp)
	case w.kind == "load" && w.n == 100000:
		target = "≤1 s, ≤300 MiB"
		within(maxLoad)
		if mib := float64(r.usage.PeakRSS) / 1024; mib > maxLoadMiB {
			missed = append(missed, fmt.Sprintf("%.0f MiB", mib))
		}
	case w.kind == "foreach" && w.n == 50000:
		target = "≤1 s"
		within(maxLoad)
	default:
		return "none at this N", "-"
	}
	if len(missed) == 0 {
		return target, "held"
	}
	return target, "NOT held: " + strings.Join(missed, ", ")
}
