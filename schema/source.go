package schema

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
)

// MaxFileSize is the largest suite or --var-file file read. Suites are
// text written by people; a bigger file is a mistake (a symlink to
// /dev/zero, a log named *.nettest.hcl) that would otherwise be read whole.
const MaxFileSize = 16 << 20

// MaxNesting is the deepest nesting of brackets ((, [, {) a file may have.
// HCL's parser recurses once per level, so 100,000 nested parentheses
// overflow the stack and crash the process; no real suite comes close.
const MaxNesting = 256

// ReadSource reads a suite or variables file for parsing: only a regular
// file (a FIFO would block forever, a device never end), up to
// MaxFileSize, nested at most MaxNesting deep. Each refusal is a
// diagnostic that says why, as is a file that cannot be read (permission
// denied, a symlink loop).
func ReadSource(name string) ([]byte, hcl.Diagnostics) {
	return readSource(nil, name)
}

// readSource is ReadSource over fsys, or over the file system when fsys is
// nil.
func readSource(fsys fs.FS, name string) ([]byte, hcl.Diagnostics) {
	bad := func(summary, detail string) ([]byte, hcl.Diagnostics) {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
	}
	st, err := statSource(fsys, name)
	if err != nil {
		return bad("Cannot read file", fmt.Sprintf("%s: %s.", name, reason(err)))
	}
	if !st.Mode().IsRegular() {
		return bad("Not a regular file", fmt.Sprintf("%s is %s, not a regular file; suites and variable files are read only from regular files.", name, fileKind(st.Mode())))
	}
	if st.Size() > MaxFileSize {
		return bad("File too large", fmt.Sprintf("%s holds %d bytes; a suite file may hold at most %d MiB.", name, st.Size(), MaxFileSize>>20))
	}
	f, err := openSource(fsys, name)
	if err != nil {
		return bad("Cannot read file", fmt.Sprintf("%s: %s.", name, reason(err)))
	}
	defer f.Close()
	// The file is read into one buffer of the size it has (io.ReadAll
	// would grow one by copying: 21 MB allocated for a file of 8.5 MB); a
	// file that grows meanwhile is still read up to the limit.
	src, err := readAll(io.LimitReader(f, MaxFileSize+1), make([]byte, 0, st.Size()+1))
	if err != nil {
		return bad("Cannot read file", fmt.Sprintf("%s: %s.", name, reason(err)))
	}
	if len(src) > MaxFileSize {
		return bad("File too large", fmt.Sprintf("%s holds more than %d MiB, the most a suite file may hold.", name, MaxFileSize>>20))
	}
	if d := checkNesting(src, name); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	return src, nil
}

// readAll reads r to its end, appending to buf.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// checkNesting finds the first place where brackets nest deeper than
// MaxNesting. It counts every bracket, also inside strings: a string with
// hundreds of unclosed brackets is no more real than such an expression.
// Every byte of a large suite goes through this loop before parsing
// starts, so it only adds each byte's step from a table; the line and
// column are counted only for the diagnostic.
func checkNesting(src []byte, name string) *hcl.Diagnostic {
	depth := 0
	for i, c := range src {
		depth += int(bracketStep[c])
		if uint(depth) > MaxNesting { // also a closing bracket at depth 0
			if depth < 0 {
				depth = 0
				continue
			}
			return nestingTooDeep(src, i, name)
		}
	}
	return nil
}

// bracketStep is what each byte does to the depth of brackets.
var bracketStep = func() (step [256]int8) {
	for _, c := range "([{" {
		step[c] = 1
	}
	for _, c := range ")]}" {
		step[c] = -1
	}
	return step
}()

// nestingTooDeep is the diagnostic of the bracket at src[at].
func nestingTooDeep(src []byte, at int, name string) *hcl.Diagnostic {
	line, col := 1, 1
	for _, c := range src[:at] {
		if c == '\n' {
			line, col = line+1, 1
		} else if c&0xC0 != 0x80 { // count characters, not UTF-8 continuation bytes
			col++
		}
	}
	pos := hcl.Pos{Line: line, Column: col, Byte: at}
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nesting too deep",
		Detail:  fmt.Sprintf("Brackets are nested more than %d deep here; no suite needs that many. Simplify the expression, or split it with locals.", MaxNesting),
		Subject: &hcl.Range{Filename: name, Start: pos, End: hcl.Pos{Line: line, Column: col + 1, Byte: at + 1}}}
}

// reason is the system's word for why a file could not be read.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// statSource, openSource, readDirSource and joinSource reach a suite's
// files in fsys (Options.Sources), or on the file system when fsys is nil.
func statSource(fsys fs.FS, name string) (fs.FileInfo, error) {
	if fsys == nil {
		return os.Stat(name)
	}
	return fs.Stat(fsys, name)
}

func openSource(fsys fs.FS, name string) (fs.File, error) {
	if fsys == nil {
		return os.Open(name)
	}
	return fsys.Open(name)
}

func readDirSource(fsys fs.FS, dir string) ([]fs.DirEntry, error) {
	if fsys == nil {
		return os.ReadDir(dir)
	}
	return fs.ReadDir(fsys, dir)
}

func joinSource(fsys fs.FS, dir, name string) string {
	if fsys == nil {
		return filepath.Join(dir, name)
	}
	return path.Join(dir, name) // fs.FS names use forward slashes
}
