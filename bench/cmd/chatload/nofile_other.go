//go:build !unix

package main

// raiseNoFile does nothing where there is no RLIMIT_NOFILE: it returns
// no limit.
func raiseNoFile() (limit, hard int) { return 0, 0 }
