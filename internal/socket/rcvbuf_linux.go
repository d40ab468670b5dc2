package socket

import "golang.org/x/sys/unix"

// RaiseRecvBuffer asks for a receive buffer of n bytes, best effort, and
// returns what the kernel granted. SO_RCVBUF is capped at net.core.rmem_max;
// a privileged process may pass the cap with SO_RCVBUFFORCE, so that is
// tried first (it fails with EPERM otherwise).
func RaiseRecvBuffer(fd, n int) int {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n)
	}
	got, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	return got
}
