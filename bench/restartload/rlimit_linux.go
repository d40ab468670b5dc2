package main

import "syscall"

// raiseNoFile lifts the soft fd limit toward want, as far as the hard limit
// lets it.
func raiseNoFile(want uint64) {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil || lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
