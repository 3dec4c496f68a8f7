package main

import (
	"testing"
	"time"

	"github.com/nettest/nettest/bench/internal/launcher"
)

// paired is the mean of the rounds' differences and its standard error:
// a drift both binaries share from round to round drops out of it.
func TestPaired(t *testing.T) {
	ms := func(ds ...int) []launcher.Usage {
		us := make([]launcher.Usage, len(ds))
		for i, d := range ds {
			us[i].CPU = time.Duration(d) * time.Millisecond
		}
		return us
	}
	cpu := func(u launcher.Usage) time.Duration { return u.CPU }
	for _, c := range []struct {
		a, b []launcher.Usage
		want string
	}{
		// The host twice as slow in the second round: the medians would
		// move, the differences do not.
		{ms(50, 100, 52), ms(48, 98, 50), "+2.0 ± 0.0 ms"},
		{ms(10, 20), ms(12, 14), "+2.0 ± 4.0 ms"},
		{ms(10), ms(11), "-1.0 ± 0.0 ms"},
		{nil, nil, "+0.0 ± 0.0 ms"},
	} {
		if got := paired(c.a, c.b, cpu).String(); got != c.want {
			t.Errorf("paired(%v, %v) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}
