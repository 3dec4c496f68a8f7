package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkOutputFile says why a report could not be written to path, before
// anything runs: a report flag that cannot be honoured is a usage error
// (exit 2) found in a second, not a failed run found after every check.
// It creates nothing that stays: a probe file in the directory is removed.
func checkOutputFile(path string) error {
	if st, err := os.Stat(path); err == nil {
		if st.IsDir() {
			return fmt.Errorf("cannot write %s: it is a directory; give a file name", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
		}
		f.Close()
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot write %s: its directory does not exist", path)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a directory", path, dir)
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.probe")
	if err != nil {
		return fmt.Errorf("cannot write %s: no file can be created in %s: %w", path, dir, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// unwrapPath drops the *PathError's operation and path, which the caller's
// message says already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
