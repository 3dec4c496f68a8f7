package schema_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/nettest/nettest/schema"
)

// TestOnlyRegularFilesOfSaneSize: a FIFO does not hang loading, a symlink
// to /dev/zero is not read, a file past the size cap or nested past the
// depth cap is refused before HCL's parser sees it (100,000 parentheses
// overflowed its stack), and a file that cannot be read says why. The same
// holds for --var-file.
func TestOnlyRegularFilesOfSaneSize(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.nettest.hcl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // a loader that did open the FIFO would block until a writer comes
		if f, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	zero := filepath.Join(dir, "zero.nettest.hcl")
	os.Symlink("/dev/zero", zero)
	loop := filepath.Join(dir, "loop.nettest.hcl")
	os.Symlink(loop, loop)
	big := filepath.Join(dir, "big.nettest.hcl")
	f, _ := os.Create(big)
	f.Truncate(schema.MaxFileSize + 1) // sparse: costs no disk
	f.Close()
	deep := filepath.Join(dir, "deep.nettest.hcl")
	os.WriteFile(deep, []byte("locals {\n  x = "+strings.Repeat("(", 100000)+"1"+strings.Repeat(")", 100000)+"\n}\n"), 0o644)
	suite := filepath.Join(dir, "ok.nettest.hcl")
	os.WriteFile(suite, []byte("variable \"v\" {\n  default = 1\n}\n"), 0o644)

	tests := []struct {
		file, want string
	}{
		{fifo, "is a FIFO (named pipe), not a regular file"},
		{zero, "is a device, not a regular file"},
		{loop, "too many levels of symbolic links"},
		{big, "a suite file may hold at most 16 MiB"},
		{deep, "nested more than 256 deep"},
	}
	load := func(paths []string, opts schema.Options) hcl.Diagnostics {
		done := make(chan hcl.Diagnostics, 1)
		go func() {
			_, diags := schema.Load(paths, opts)
			done <- diags
		}()
		select {
		case d := <-done:
			return d
		case <-time.After(10 * time.Second):
			t.Fatalf("loading %v did not finish", paths)
			return nil
		}
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			if got := text(load([]string{tt.file}, schema.Options{})); !strings.Contains(got, tt.want) {
				t.Errorf("as a suite file: want %q in:\n%s", tt.want, got)
			}
			got := text(load([]string{suite}, schema.Options{Vars: []schema.VarArg{{File: tt.file}}}))
			if !strings.Contains(got, tt.want) || !strings.Contains(got, "Cannot read --var-file") {
				t.Errorf("as a --var-file: want %q in:\n%s", tt.want, got)
			}
		})
	}
}

// TestSourcesFromAnFS: with Options.Sources, paths name files and
// directories inside that file system (demo's embedded suite), and
// diagnostics point at them by those names.
func TestSourcesFromAnFS(t *testing.T) {
	fsys := fstest.MapFS{
		"suite/a.nettest.hcl": {Data: []byte("tcp \"a\" {\n  host = \"127.0.0.1\"\n  port = 1\n  expect {\n    open = false\n  }\n}\n")},
		"suite/notes.txt":     {Data: []byte("not a suite file")},
		"bad/b.nettest.hcl":   {Data: []byte("tcp \"b\" {\n  host = \"127.0.0.1\"\n  port = 80000\n  expect {\n    open = false\n  }\n}\n")},
	}
	s, diags := schema.Load([]string{"suite"}, schema.Options{Sources: fsys})
	if diags.HasErrors() {
		t.Fatalf("loading from the FS: %v", diags)
	}
	if len(s.Instances) != 1 || s.Instances[0].Range().Filename != "suite/a.nettest.hcl" {
		t.Fatalf("instances %v, want tcp.a from suite/a.nettest.hcl", s.FileNames)
	}
	_, diags = schema.Load([]string{"bad"}, schema.Options{Sources: fsys})
	if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Filename != "bad/b.nettest.hcl" || diags[0].Subject.Start.Line != 3 {
		t.Fatalf("diagnostics %v, want one at bad/b.nettest.hcl:3", diags)
	}
	if _, diags := schema.Load([]string{"missing"}, schema.Options{Sources: fsys}); !diags.HasErrors() {
		t.Fatal("a path the FS does not hold loaded without an error")
	}
}

// The refusal of a file nested too deep points at the first bracket past
// the limit (the block's brace counts too; a closing bracket with none
// open counts for nothing), counting characters, not bytes, for the column.
func TestNestingTooDeepPointsAtTheBracket(t *testing.T) {
	file := filepath.Join(t.TempDir(), "deep.nettest.hcl")
	prefix := "# ))\nlocals {\n  # ü\n  é = "
	os.WriteFile(file, []byte(prefix+strings.Repeat("(", 300)+"1"+strings.Repeat(")", 300)+"\n}\n"), 0o644)
	_, diags := schema.Load([]string{file}, schema.Options{})
	if len(diags) != 1 || diags[0].Subject == nil {
		t.Fatalf("want one diagnostic with a range, got %v", diags)
	}
	want := hcl.Range{Filename: file,
		Start: hcl.Pos{Line: 4, Column: 262, Byte: len(prefix) + 255},
		End:   hcl.Pos{Line: 4, Column: 263, Byte: len(prefix) + 256}}
	if got := *diags[0].Subject; got != want {
		t.Errorf("range %#v, want %#v", got, want)
	}
}
