package checks

import (
	"errors"
	"fmt"
	"syscall"
)

// LocalFailure tells an error this machine caused from an answer of the
// network. Under load (a high --parallelism, a low open-files limit) socket
// calls fail with EMFILE, ENFILE, ENOBUFS, ENOMEM or EADDRNOTAVAIL before a
// packet leaves; such a failure observed nothing, so it must become the
// check's error, never a state such as "filtered" or "unreachable" that an
// expectation could accept. LocalFailure returns nil when err is not one of
// those, and otherwise an error that names the cause and what to do.
func LocalFailure(err error) error {
	var hint string
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		hint = "nettest ran out of file descriptors, so nothing was sent: lower --parallelism, or raise the open-files limit (ulimit -n)"
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		hint = "the system ran out of socket buffers or memory, so nothing was sent: lower --parallelism"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		hint = "no local address or port was free to send from: lower --parallelism, or check the addresses of this machine"
	case errors.Is(err, syscall.EAGAIN):
		hint = "the socket's send queue was full, so nothing was sent: lower --parallelism"
	default:
		return nil
	}
	return &localError{err: err, hint: hint}
}

// localError is a LocalFailure: the system call's error and the advice.
type localError struct {
	err  error
	hint string
}

func (e *localError) Error() string { return fmt.Sprintf("%v: %s", rootErrno(e.err), e.hint) }
func (e *localError) Unwrap() error { return e.err }

// rootErrno is the system's own words for err ("too many open files")
// without the socket addresses Go puts before them.
func rootErrno(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}
