// Package checks defines what a check kind is and holds the one registry of
// kinds. The loader and the runner know kinds only through this package: a
// kind is a folder below checks/ that calls RegisterFunc from its init
// function, and one line in checks/all that imports it.
package checks

import (
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/zclconf/go-cty/cty"
)

// Kind describes one kind of check: the block type users write, the
// arguments it takes, the expectations it understands, the shape of what it
// observes, and the probe that observes it.
//
// A kind writes Name, Summary, Docs, Expect, Probe and, when its arguments
// go together, Validate. Register derives Args and Result from the Go types
// of the probe, so that the arguments users write, the struct the probe
// reads and the documentation cannot drift apart.
type Kind struct {
	// Name is the block type in the language, such as "tcp".
	Name string
	// Summary is one sentence for help texts and the plan.
	Summary string
	// Docs documents and validates each kind-specific argument, by the
	// name of its Config field's cty tag. Register panics when an argument
	// has no entry or an entry names no argument.
	Docs map[string]ArgDoc
	// Expect lists the attributes allowed inside this kind's expect block.
	Expect []Expectation
	// Validate, when set, checks the arguments together (exactly one of
	// two forms, say). The loader calls it when every argument is known
	// before the run, with the object a probe would receive; its error
	// becomes a diagnostic on the block.
	Validate func(args cty.Value) error
	// Probe observes the network: Typed(Defaults, fn) over the kind's own
	// Config and Result structs. It returns what it saw, even when that is
	// a failure from the user's point of view (a closed port, a 500
	// status): a verdict is made later by comparing expectations. It
	// returns an error only when it could not observe at all (no
	// permission, a name that does not resolve); the error's text tells the
	// user what to do.
	Probe Probe

	// Args are the kind-specific arguments, beside the meta-arguments the
	// loader handles for every kind (for_each, timeout, retries, …), in the
	// order of the Config struct's fields. Register fills them in.
	Args []Arg
	// Result is the object type a probe returns. The runner measures
	// duration_ms and adds it (or has the prober add it, see
	// TimedProber), so a kind does not declare that field. Register fills
	// it in from the probe's result struct.
	Result cty.Type
}

// Args are one check's arguments as its probe receives them: a value for
// each of Kind.Args, in that order, converted to its type, with defaults
// filled in and no unknown or marked values. They are a slice rather than a
// cty object because a suite holds one for every check, and cty gives every
// object value an object type of its own: about 700 bytes a check, where
// this is 32 bytes an argument.
type Args []cty.Value

// Object is args as one object with an attribute per argument: what is
// sent to a vantage, and what Validate receives.
func (k *Kind) Object(args Args) cty.Value {
	attrs := make(map[string]cty.Value, len(k.Args))
	for n, a := range k.Args {
		attrs[a.Name] = args[n]
	}
	return cty.ObjectVal(attrs)
}

// ArgsOf takes the arguments out of an object with an attribute per
// argument, as Object makes it; a missing attribute is null.
func (k *Kind) ArgsOf(obj cty.Value) Args {
	args := make(Args, len(k.Args))
	for n, a := range k.Args {
		if obj.Type().IsObjectType() && obj.Type().HasAttribute(a.Name) {
			args[n] = obj.GetAttr(a.Name)
		} else {
			args[n] = cty.NullVal(a.Type)
		}
	}
	return args
}

// ArgDoc documents one argument and, optionally, validates its value.
type ArgDoc struct {
	// Doc is one sentence for the documentation.
	Doc string
	// Validate, when set, is called at load time with every known, non-null
	// value. Its error becomes a diagnostic on the argument's expression, so
	// bad ports, durations, regexes and URLs are caught before anything runs.
	Validate func(cty.Value) error
}

// Arg is one kind-specific argument as the loader sees it, derived from a
// field of the kind's Config struct and its entry in Kind.Docs.
type Arg struct {
	Name string
	// Type is the argument's type; a value is converted to it as HCL does.
	// cty.DynamicPseudoType (a cty.Value field) accepts any value, which the
	// kind checks in Validate.
	Type cty.Type
	// Required is true for a field that is neither a pointer nor tagged
	// ",optional".
	Required bool
	// Default is used when the argument is absent: the field's value in the
	// Config given to Typed; cty.NilVal (null) for a pointer field left nil.
	Default  cty.Value
	Doc      string
	Validate func(cty.Value) error
}

// Expectation declares one attribute of a kind's expect block.
type Expectation struct {
	Name string
	Type cty.Type
	Doc  string
	// Validate, like ArgDoc.Validate, checks a known value at load time.
	Validate func(cty.Value) error
	// Compare judges the result against the expected value. It returns nil
	// when the expectation is met and otherwise the line of the diff.
	Compare func(want, result cty.Value) *Diff

	// result is the Go type Expect decodes results into, which Register
	// checks against the kind's result struct.
	result reflect.Type
	// direct judges a result that is still the probe's Go struct without
	// making its object, as Compare judges the object; ok is false when it
	// cannot (a struct of another type). It is used only while Compare is
	// the function it was made beside (directFor, its code pointer): a
	// kind that wraps Compare in a function of its own judges the object.
	direct    func(want cty.Value, r Result) (d *Diff, ok bool)
	directFor uintptr
}

// withDirect is e with direct as the way to judge a Go result while
// Compare is e's current one.
func (e Expectation) withDirect(direct func(want cty.Value, r Result) (*Diff, bool)) Expectation {
	e.direct, e.directFor = direct, reflect.ValueOf(e.Compare).Pointer()
	return e
}

// Diff is one unmet expectation: a line of the expected-vs-actual report.
// Expected and Actual are written as HCL literals ("open", 200, true) or a
// short phrase ("at most 50"), ready for a person to read.
type Diff struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Actual   string `json:"actual"`
}

// Headline is the one line that says why diffs failed, as CI systems show
// it beside a test case: the first unmet expectation and how many more.
func Headline(diffs []Diff) string {
	if len(diffs) == 0 {
		return ""
	}
	d := diffs[0]
	h := d.Field + ": expected " + d.Expected + ", got " + d.Actual
	if n := len(diffs) - 1; n > 0 {
		h += fmt.Sprintf(" (and %d more)", n)
	}
	return h
}

var (
	mu       sync.RWMutex
	registry = map[string]*entry{}
)

// entry is a registered kind, made when it is first looked up when it was
// registered with RegisterFunc.
type entry struct {
	once  sync.Once
	build func() Kind // nil once kind is made
	kind  *Kind
}

func (e *entry) get(name string) *Kind {
	e.once.Do(func() {
		if e.build == nil {
			return
		}
		k := e.build()
		if k.Name != name {
			panic(fmt.Sprintf("checks: kind registered as %q is named %q", name, k.Name))
		}
		e.kind, e.build = mustDerive(k), nil
	})
	return e.kind
}

// Register adds a kind. It panics on a programming error, so that a
// mistake fails every test rather than decoding as a zero value: an empty
// or duplicate name, a missing probe, an argument without documentation or
// documentation for no argument, a cty tag option other than ",optional",
// a default for a required argument, Args or Result written by hand, an
// expectation declared twice or over another kind's result.
func Register(k Kind) {
	add(k.Name, &entry{kind: mustDerive(k)})
}

// RegisterFunc adds the kind named name that build makes, as Register
// would, when the kind is first looked up (Lookup, Kinds). A kind package
// registers this way from its init function: making a kind (its Go types
// read by reflection, its expectations and documentation) costs about
// 0.05 ms, a run needs the few kinds its suite uses, and every nettest
// command starts with the init functions of all of them. Its mistakes
// panic when it is made; checks/all's test makes every kind.
func RegisterFunc(name string, build func() Kind) {
	if name == "" {
		panic("checks: a kind needs a name")
	}
	add(name, &entry{build: build})
}

func add(name string, e *entry) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("checks: kind %q registered twice", name))
	}
	registry[name] = e
}

func mustDerive(k Kind) *Kind {
	kind, err := derive(k)
	if err != nil {
		panic(fmt.Sprintf("checks: kind %q: %v", k.Name, err))
	}
	return kind
}

// Lookup returns the kind registered under name.
func Lookup(name string) (*Kind, bool) {
	mu.RLock()
	e, ok := registry[name]
	mu.RUnlock()
	if !ok {
		return nil, false
	}
	return e.get(name), true
}

// Names returns the names of the registered kinds, sorted, without making
// the kinds.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for name := range registry {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Kinds returns every registered kind, sorted by name.
func Kinds() []*Kind {
	names := Names()
	out := make([]*Kind, len(names))
	for i, name := range names {
		out[i], _ = Lookup(name)
	}
	return out
}

// Arg returns the argument declaration with the given name.
func (k *Kind) Arg(name string) (Arg, bool) {
	for _, a := range k.Args {
		if a.Name == name {
			return a, true
		}
	}
	return Arg{}, false
}

// Expectation returns the expect attribute with the given name.
func (k *Kind) Expectation(name string) (Expectation, bool) {
	for _, e := range k.Expect {
		if e.Name == name {
			return e, true
		}
	}
	return Expectation{}, false
}

// Unmet is one expectation a result did not meet: its name, the expected
// value it was compared with, and the line of the diff.
type Unmet struct {
	Name string
	// Index is the expectation's place in the kind's Expect list.
	Index int
	Want  cty.Value
	Diff  Diff
}

// Judge compares a result with the values of an expect block, by
// expectation name, in the order of the kind's Expect list, and returns the
// unmet ones. A null value switches its expectation off; marks (of
// sensitive values) are removed before comparing. It is the one place a
// verdict on expectations is made: the runner reaches it through
// schema.Bound.Judge, kinds' tests through kindtest.Verdict.
func (k *Kind) Judge(want map[string]cty.Value, result cty.Value) []Unmet {
	values := make([]cty.Value, len(k.Expect))
	for n, e := range k.Expect {
		values[n] = want[e.Name] // cty.NilVal when absent
	}
	return k.JudgeValues(values, ResultOf(result))
}

// JudgeValues is Judge with the expected values in the order of the
// kind's Expect list, cty.NilVal for an expectation not written: how the
// loader holds them, one slice a check rather than a map. An expectation
// made with Expect judges a result that is still the probe's Go struct on
// the struct itself; any other asks for the result's object.
func (k *Kind) JudgeValues(want []cty.Value, result Result) []Unmet {
	return k.judge(want, result, true)
}

// JudgeUnmarked is JudgeValues for expected values the caller knows hold
// no marks (the loader looked, once, at values known before the run): it
// does not look again for every check it judges.
func (k *Kind) JudgeUnmarked(want []cty.Value, result Result) []Unmet {
	return k.judge(want, result, false)
}

func (k *Kind) judge(want []cty.Value, result Result, mayBeMarked bool) []Unmet {
	var unmet []Unmet
	for n, e := range k.Expect {
		w := want[n]
		if w == cty.NilVal || w.IsNull() {
			continue
		}
		if mayBeMarked && containsMarked(w) {
			w, _ = w.UnmarkDeep()
		}
		d, ok := (*Diff)(nil), false
		if e.direct != nil && result.obs != nil {
			d, ok = e.direct(w, result)
		}
		if !ok {
			d = e.Compare(w, result.Value())
		}
		if d != nil {
			unmet = append(unmet, Unmet{Name: e.Name, Index: n, Want: w, Diff: *d})
		}
	}
	return unmet
}

// ContainsMarked is v.ContainsMarked() without a walk for the values most
// arguments and expectations hold (see containsMarked).
func ContainsMarked(v cty.Value) bool { return containsMarked(v) }

// containsMarked is v.ContainsMarked(), which walks even a single bool or
// string with closures and paths; a primitive value holds no other value
// to be marked, so its own mark is the answer.
func containsMarked(v cty.Value) bool {
	t := v.Type()
	switch {
	case t.IsPrimitiveType():
		return v.IsMarked()
	case t.IsListType() && t.ElementType().IsPrimitiveType() && !v.IsMarked() && v.IsKnown() && !v.IsNull():
		// A list of strings (answers, status codes): its elements, each
		// looked at without a walk's closures and paths.
		n := v.LengthInt()
		if n > len(smallIndexes) {
			break
		}
		for _, i := range smallIndexes[:n] {
			if v.Index(i).IsMarked() {
				return true
			}
		}
		return false
	}
	return v.ContainsMarked()
}

// smallIndexes are the indexes of a short list, made once: an index made
// for each element would be a big.Float each time.
var smallIndexes = func() (out [16]cty.Value) {
	for i := range out {
		out[i] = cty.NumberIntVal(int64(i))
	}
	return out
}()
