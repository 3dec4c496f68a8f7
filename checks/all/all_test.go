package all

import (
	"testing"

	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// Every kind is made when it is first looked up (checks.RegisterFunc): this
// makes them all, so that a kind's mistake, which panics when it is made,
// fails here and not in the first run that uses it.
func TestEveryKindIsMade(t *testing.T) {
	names := checks.Names()
	if len(names) < 12 {
		t.Fatalf("%d kinds registered, want every kind of this package's imports: %v", len(names), names)
	}
	for i, k := range checks.Kinds() {
		if k == nil || k.Name != names[i] || len(k.Args) == 0 || k.Result == (cty.Type{}) {
			t.Errorf("kind %q is not made whole: %+v", names[i], k)
		}
	}
}
