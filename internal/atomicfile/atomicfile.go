// Package atomicfile writes files so that a reader, or a crash, sees either
// the old content or the new one, never half of it.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile writes data to a new file beside path, flushes it to disk and
// renames it over path. On any error (a full disk, no permission) path is
// left as it was and the temporary file is removed. perm is the mode of the
// new file.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	if path == "" {
		return errors.New("no file name given")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
