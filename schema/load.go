// Package schema loads nettest suites: it parses *.nettest.hcl files, decodes
// variables, locals, defaults and check blocks of every registered kind,
// expands for_each, resolves references between checks, and reports every
// problem it finds as an HCL diagnostic with the source range, in one pass.
//
// Nothing here touches the network: loading only reads the files it is given.
package schema

import (
	"fmt"
	"io/fs"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nettest/nettest/checks"
	"github.com/zclconf/go-cty/cty"
)

// FileSuffix is the suffix of the files a directory contributes to a suite.
const FileSuffix = ".nettest.hcl"

// Suite is a loaded, validated set of files: everything a plan needs.
type Suite struct {
	// Files are the parsed files by name, for printing diagnostics with
	// their source snippets.
	Files map[string]*hcl.File
	// FileNames lists the files in load order.
	FileNames []string
	Variables map[string]*Variable
	Locals    map[string]*Local
	Defaults  Defaults
	// Vantages are the vantage blocks by name: the places checks can run
	// from besides here.
	Vantages map[string]*Vantage
	// Checks are the check blocks in file order.
	Checks []*Check
	// Instances are the expanded checks (one per for_each key) in file order.
	Instances []*Instance
	// UnusedOutputs are the Terraform outputs (--terraform-outputs) that
	// no variable is named after, sorted: ignored, as Terraform ignores
	// values for undeclared variables, and listed by --verbose.
	UnusedOutputs []string

	ctx     *hcl.EvalContext // var, local and functions; the root of every evaluation
	loadCtx *hcl.EvalContext // ctx plus every check result as unknown, for checking before the run
	// incomplete is true when variables, locals or defaults had errors, so
	// some values are unknown for want of a value, not for want of a run.
	incomplete bool
	// unknownVariables is true when a variable without a value was made
	// unknown (Options.UnknownVariables).
	unknownVariables bool
	// secrets holds sensitive values and the strings evaluated from them,
	// for the outputs to redact (see Secrets).
	secrets Secrets
	// vantageBlocks are the vantage blocks in file order, decoded once
	// variables and locals have values.
	vantageBlocks []*hcl.Block
	// predecoded are the check blocks decoded while their file was parsed,
	// by the bodies left in their place (see predecode).
	predecoded   map[hcl.Body]decodedCheck
	predecodedMu sync.Mutex
}

// decodedCheck is what decodeCheck gave for a block.
type decodedCheck struct {
	check *Check
	diags hcl.Diagnostics
}

// predecode decodes a check block of a large file as soon as its piece is
// parsed, on the worker that parsed it, and empties the block's body: the
// check keeps the expressions it evaluates, so the rest of the block's
// tree can go at once instead of all the trees of 100,000 checks being
// live together, the largest part of the peak memory of loading. Decoding
// needs nothing but the block (no variable, no other block), so it gives
// what decode would give later; decode takes the result when it meets the
// block, in file order, and a block it does not meet (a file parsed again
// whole after a syntax error, a block the root schema rejects) was decoded
// for nothing. It returns the hcl.Block it decoded, for the file's root
// content to hold (see blockFunc), or nil for a block it leaves alone.
// (A block the plain parse decoded itself never comes here: see
// decodedRun.)
func (s *Suite) predecode(b *hclsyntax.Block, src []byte) *hcl.Block {
	kind, ok := checks.Lookup(b.Type)
	if !ok || len(b.Labels) != 1 {
		return nil
	}
	hb := b.AsHCLBlock()
	c, diags := decodeCheck(kind, hb, src)
	*b.Body = hclsyntax.Body{SrcRange: b.Body.SrcRange, EndRange: b.Body.EndRange}
	s.predecodedMu.Lock()
	if s.predecoded == nil {
		s.predecoded = map[hcl.Body]decodedCheck{}
	}
	s.predecoded[b.Body] = decodedCheck{c, diags}
	s.predecodedMu.Unlock()
	return hb
}

// Secrets is the suite's set of strings no output may show: every output
// redacts through it (see the type's comment for where).
func (s *Suite) Secrets() *Secrets {
	if s == nil {
		return nil
	}
	return &s.secrets
}

// Options are the inputs to Load that do not come from the files.
type Options struct {
	// Vars are --var NAME=VALUE and --var-file FILE in command-line order.
	Vars []VarArg
	// Env is the process environment (os.Environ()); NETTEST_VAR_name entries
	// set variables.
	Env []string
	// Timeout, when non-zero, is the default timeout of checks that set none
	// (the --timeout flag); it outranks the defaults block.
	Timeout time.Duration
	// UnknownVariables makes a variable without a value unknown (of its
	// declared type) instead of an error, as `terraform validate` does:
	// everything that does not depend on it is still checked, and a value
	// that is given is still type-checked and validated. For validate;
	// plan and test need every value.
	UnknownVariables bool
	// Sources, when set, is where the paths are read from instead of the
	// file system: `nettest demo` runs the quickstart embedded in the
	// binary this way, so its reports name the file as it is there
	// (quickstart/quickstart.nettest.hcl), not a temporary copy that is
	// gone once the demo ends. --var-file files are still read from disk.
	Sources fs.FS
}

// Files lists the suite files named by paths: every *.nettest.hcl directly in
// a directory (not below it, as Terraform reads a module), or a file named
// directly whatever its name. No paths means the current directory.
func Files(paths []string) ([]string, hcl.Diagnostics) {
	return filesIn(nil, paths)
}

// filesIn is Files over fsys, or over the file system when fsys is nil.
func filesIn(fsys fs.FS, paths []string) ([]string, hcl.Diagnostics) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out []string
	var diags hcl.Diagnostics
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := statSource(fsys, p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read path",
				Detail: fmt.Sprintf("%s. Give a directory holding *%s files, or a file.", err, FileSuffix)})
			continue
		}
		if !st.IsDir() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
			continue
		}
		entries, err := readDirSource(fsys, p)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read directory", Detail: err.Error()})
			continue
		}
		found := 0
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), FileSuffix) {
				continue
			}
			f := joinSource(fsys, p, e.Name())
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
			found++
		}
		if found == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "No suite files",
				Detail: fmt.Sprintf("The directory %q holds no *%s files. Name a directory that does, or the files themselves.", p, FileSuffix)})
		}
	}
	return out, diags
}

// Load reads the suite made of the given paths (see Files), decodes it and
// validates everything that can be validated without the network.
func Load(paths []string, opts Options) (*Suite, hcl.Diagnostics) {
	names, diags := filesIn(opts.Sources, paths)
	if diags.HasErrors() {
		return nil, diags
	}
	parser := hclparse.NewParser()
	s := &Suite{Files: map[string]*hcl.File{}, Variables: map[string]*Variable{}, Locals: map[string]*Local{}, Vantages: map[string]*Vantage{}}
	root := rootSchema()
	var bodies []hcl.Body
	var rootBlocks [][]*hcl.Block // of each body, when its parse found them
	for _, name := range names {
		f, rb, d := parseFile(parser, opts.Sources, name, root, s.predecode)
		diags = append(diags, d...)
		if f == nil {
			continue
		}
		s.Files[name] = f
		s.FileNames = append(s.FileNames, name)
		bodies = append(bodies, f.Body)
		rootBlocks = append(rootBlocks, rb)
	}
	// The parser keeps every file it read, also the ones named by --var-file,
	// so their diagnostics print with snippets too.
	defer func() {
		for name, f := range parser.Files() {
			if _, ok := s.Files[name]; !ok {
				s.Files[name] = f
			}
		}
	}()
	if diags.HasErrors() {
		return s, collapseCascades(diags)
	}

	var blocks []*hcl.Block
	for i, body := range bodies {
		if rootBlocks[i] != nil {
			blocks = append(blocks, rootBlocks[i]...)
			continue
		}
		content, d := body.Content(root)
		diags = append(diags, d...)
		blocks = append(blocks, content.Blocks...)
	}
	diags = append(diags, s.decode(blocks, parser, opts)...)
	return s, diags
}

// decode works through the top-level blocks in dependency order: variables,
// then locals, then defaults, then checks, which may use all three.
func (s *Suite) decode(blocks []*hcl.Block, parser *hclparse.Parser, opts Options) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var defaults []*hcl.Block
	for _, b := range blocks {
		switch b.Type {
		case "variable":
			v, d := decodeVariable(b)
			diags = append(diags, d...)
			if v == nil {
				continue
			}
			if prev, dup := s.Variables[v.Name]; dup {
				diags = append(diags, duplicate("variable", v.Name, v.DeclRange, prev.DeclRange))
				continue
			}
			s.Variables[v.Name] = v
		case "defaults":
			defaults = append(defaults, b)
		}
	}
	vantageDiags := s.declareVantages(blocks)
	diags = append(diags, s.assignVariables(parser, opts)...)
	s.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functions}
	s.ctx.Variables["var"] = s.variableObject()
	s.ctx.Variables["vantage"] = s.vantageObject()
	diags = append(diags, s.validateVariables()...)
	diags = append(diags, s.decodeLocals(blocks)...)
	s.incomplete = diags.HasErrors() || s.unknownVariables
	// A broken vantage block is reported, and says nothing of whether the
	// values checks use are known.
	vantageDiags = append(vantageDiags, s.decodeVantages()...)
	diags = append(diags, s.decodeDefaults(defaults, opts)...)
	s.incomplete = diags.HasErrors() || s.unknownVariables
	diags = append(diags, vantageDiags...)

	// Checks are decoded even after errors above, so that one run reports
	// every problem: values that could not be found are unknown, and
	// unknown values raise no further errors.

	// Check blocks are decoded each on its own, on the cores there are;
	// their diagnostics and duplicates are then taken in file order. The
	// loop on one core reads only these slices: looking at each block's
	// type and each check's name there cost ~50 ms at 100,000 checks, most
	// of it waiting for memory.
	type checkKey struct{ kind, name string } // not joined: a string a check
	// A run of check blocks the plain parse decoded is one block of blocks
	// (see decodedRun); here each of its checks is an item of its own.
	items, given := blocks, []*Check(nil)
	for _, b := range blocks {
		if _, ok := b.Body.(*decodedRun); ok {
			items, given = withRuns(blocks)
			break
		}
	}
	decoded := make([]*Check, len(items))
	keys := make([]checkKey, len(items))
	decodeDiags := make([]hcl.Diagnostics, len(items))
	var checkCount atomic.Int64
	eachIndex(len(items), func(i int) {
		if given != nil && given[i] != nil {
			c := given[i] // decoded by the plain parse (plaincheck.go)
			checkCount.Add(1)
			decoded[i], keys[i] = c, checkKey{c.Kind.Name, c.Name}
			return
		}
		b := items[i]
		kind, ok := checks.Lookup(b.Type)
		if !ok {
			return
		}
		checkCount.Add(1)
		if pre, ok := s.predecoded[b.Body]; ok {
			decoded[i], decodeDiags[i] = pre.check, pre.diags
		} else {
			decoded[i], decodeDiags[i] = decodeCheck(kind, b, s.source(b.DefRange.Filename))
		}
		keys[i] = checkKey{kind.Name, decoded[i].Name}
	})
	s.predecoded = nil
	seen := make(map[checkKey]*Check, checkCount.Load())
	s.Checks = make([]*Check, 0, checkCount.Load())
	for i, c := range decoded {
		if c == nil {
			continue // not a check block
		}
		diags = append(diags, decodeDiags[i]...)
		if prev, dup := seen[keys[i]]; dup {
			diags = append(diags, duplicate(c.Kind.Name+" check", c.Name, c.DeclRange, prev.DeclRange))
			continue
		}
		seen[keys[i]] = c
		s.Checks = append(s.Checks, c)
	}
	s.shedTrees(parser)
	if checkCount.Load() >= collectFrom {
		// Most of what parsing allocated is garbage now, and with the GC
		// target raised for loading (cmd/nettest) the next collection
		// would come only at five times the heap live at the last one,
		// in the middle of parsing: evaluation would pile its allocations
		// on top of the garbage. One collection here marks what is live
		// (190 MB at 100,000 checks) and spares the later one; validate
		// of 100,000 checks: peak RSS ~570 → ~450 MiB, CPU no higher.
		runtime.GC()
	}
	diags = append(diags, s.expand()...)
	s.explainReferences(diags)
	return dedupe(diags)
}

// withRuns is blocks with each run of checks the plain parse decoded
// (a decodedRun) in place of its block: a nil block and the check, where
// every other block has its block and a nil check.
func withRuns(blocks []*hcl.Block) (items []*hcl.Block, given []*Check) {
	n := 0
	for _, b := range blocks {
		if run, ok := b.Body.(*decodedRun); ok {
			n += len(run.checks)
		} else {
			n++
		}
	}
	items, given = make([]*hcl.Block, 0, n), make([]*Check, 0, n)
	for _, b := range blocks {
		run, ok := b.Body.(*decodedRun)
		if !ok {
			items, given = append(items, b), append(given, nil)
			continue
		}
		for _, c := range run.checks {
			items, given = append(items, nil), append(given, c)
		}
	}
	return items, given
}

// collectFrom is the number of check blocks from which Load collects
// garbage once the syntax trees are shed.
const collectFrom = 20000

// rootSchema lists the blocks a suite file may hold: the language's own and
// one per registered check kind, so a typo gets HCL's "did you mean".
func rootSchema() *hcl.BodySchema {
	sc := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "defaults"},
		{Type: "vantage", LabelNames: []string{"name"}},
	}}
	for _, name := range checks.Names() {
		sc.Blocks = append(sc.Blocks, hcl.BlockHeaderSchema{Type: name, LabelNames: []string{"name"}})
	}
	return sc
}

func duplicate(what, name string, at, prev hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s %q", what, name),
		Detail:   fmt.Sprintf("A %s named %q was already declared at %s. Names must be unique.", what, name, prev),
		Subject:  at.Ptr(),
	}
}

// Kinds returns the names of the kinds the suite uses, sorted.
func (s *Suite) Kinds() []string {
	set := map[string]bool{}
	for _, c := range s.Checks {
		set[c.Kind.Name] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// source returns the text of a loaded file.
func (s *Suite) source(filename string) []byte {
	if f, ok := s.Files[filename]; ok {
		return f.Bytes
	}
	return nil
}
