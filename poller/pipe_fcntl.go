//go:build unix && !(linux || dragonfly || freebsd || netbsd || openbsd || solaris)

package poller

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeNonblockCloexec is for systems without pipe2 (darwin, aix). It holds
// syscall.ForkLock, as the standard library does, so that no fork+exec can
// inherit the pipe between pipe(2) and setting close-on-exec.
func pipeNonblockCloexec() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, os.NewSyscallError("pipe", err)
	}
	for _, fd := range p {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, -1, os.NewSyscallError("fcntl", err)
		}
	}
	return p[0], p[1], nil
}
