package runner

import "time"

// SetGrace shortens the watchdog's grace for a test and restores it after.
func SetGrace(d time.Duration) (restore func()) {
	old := grace
	grace = d
	return func() { grace = old }
}
