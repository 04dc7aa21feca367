//go:build unix

package main

import "syscall"

// raiseNoFile raises this process's limit of open files (RLIMIT_NOFILE)
// to its hard limit, which a server started afterwards inherits, and
// returns the limit now and the hard limit (0 if unknown). Without
// CAP_SYS_RESOURCE the hard limit cannot be raised: ulimit -Hn says it.
func raiseNoFile() (limit, hard int) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err == nil {
			rl = want
		}
	}
	return clampInt(rl.Cur), clampInt(rl.Max)
}

func clampInt(v uint64) int { return int(min(v, 1<<40)) }
