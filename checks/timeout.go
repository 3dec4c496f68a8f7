package checks

import (
	"context"
	"time"
)

type timeoutKey struct{}

// WithTimeout records the check's configured timeout in ctx. The runner
// calls it beside context.WithTimeout, so that a probe's message can say
// "within 1s (the check's timeout)" as the user wrote it, rather than the
// time left on the clock when the probe looked, which on a busy machine is
// a little less.
func WithTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, timeoutKey{}, d)
}

// TimeoutOf returns the timeout recorded by WithTimeout, or zero when none
// was (a probe called directly, as in a kind's own tests).
func TimeoutOf(ctx context.Context) time.Duration {
	d, _ := ctx.Value(timeoutKey{}).(time.Duration)
	return d
}
