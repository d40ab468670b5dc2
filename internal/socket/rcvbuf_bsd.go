//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package socket

import "golang.org/x/sys/unix"

// RaiseRecvBuffer asks for a receive buffer of n bytes, best effort, and
// returns what the kernel granted. The BSDs refuse a size over their limit
// (kern.ipc.maxsockbuf) with ENOBUFS instead of capping it, so the request
// halves until it fits.
func RaiseRecvBuffer(fd, n int) int {
	for ; n >= 64<<10; n /= 2 {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, n) == nil {
			break
		}
	}
	got, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	return got
}
