//go:build !unix

package chat

import "syscall"

// rawReader is unused where descriptors are not read directly: no
// session parks, since parking is implemented on Linux only.
type rawReader struct{ rc syscall.RawConn }

func (r *rawReader) init(rc syscall.RawConn) { r.rc = rc }

// Read is never called: a session whose Register fails reads from its
// connection.
func (r *rawReader) Read(p []byte) (int, error) { return 0, errWouldBlock }

// SyscallConn implements syscall.Conn, for the poller.
func (r *rawReader) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }
