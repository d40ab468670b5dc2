//go:build unix

package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read and Write are read(2) and write(2) for nonblocking fds, made without
// telling the Go scheduler (unix.RawSyscall). On a nonblocking fd neither
// call can sleep, so the scheduler has nothing to gain from knowing, and the
// usual entersyscall/exitsyscall costs a loop dearly: a loop's goroutine lives
// in read and write, so the runtime's monitor thread sees its P "in a
// syscall" on every tick, hands the P to another thread, and the loop then
// waits for a P back, two context switches per handoff. Blocking calls
// (epoll_wait, poll) still go through unix.Syscall.
//
// EINTR is returned to the caller, which retries.
func Read(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	n, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(base), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// Write is write(2) on a nonblocking fd; see Read.
func Write(fd int, p []byte) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	n, _, errno := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(base), uintptr(len(p)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}
