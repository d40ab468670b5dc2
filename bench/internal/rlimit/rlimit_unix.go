//go:build linux || darwin

// Package rlimit raises the open-file limit of a load generator, which holds
// thousands of connections, and of the servers it starts, which inherit it.
// It is shared by the bench harness, bench/tlsbench and bench/restartload.
package rlimit

import (
	"fmt"
	"syscall"
)

// RaiseNoFile makes sure this process may hold at least want open files:
// it raises the soft RLIMIT_NOFILE, and the hard one too when needed and
// permitted. Servers started afterwards inherit the raised limits. It
// returns the resulting soft limit.
func RaiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("getrlimit NOFILE: %w", err)
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	next := lim
	next.Cur = want
	if next.Max < want {
		next.Max = want // succeeds only with CAP_SYS_RESOURCE
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err == nil {
		return want, nil
	}
	// Fall back to the hard limit we have.
	next = lim
	next.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next); err != nil {
		return lim.Cur, fmt.Errorf("setrlimit NOFILE %d: %w", lim.Max, err)
	}
	if next.Cur < want {
		return next.Cur, fmt.Errorf("RLIMIT_NOFILE hard limit is %d, need %d (raise it with ulimit -Hn; above the hard limit that needs CAP_SYS_RESOURCE, as root normally has)", next.Cur, want)
	}
	return next.Cur, nil
}
