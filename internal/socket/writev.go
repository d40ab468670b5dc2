//go:build unix

package socket

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// MaxIovecs bounds one writev(2) call (IOV_MAX is 1024 on Linux and the BSDs).
const MaxIovecs = 1024

// Writev writes bufs with one writev(2), using iovs as scratch space so the
// call allocates nothing (unix.Writev allocates its iovec slice per call).
// It returns the bytes written; EINTR is retried. fd must be nonblocking: the
// call is raw (see Read).
func Writev(fd int, bufs [][]byte, iovs []unix.Iovec) (int, []unix.Iovec, error) {
	iovs = iovs[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(iovs) == MaxIovecs {
			break
		}
		var iov unix.Iovec
		iov.Base = &b[0]
		iov.SetLen(len(b))
		iovs = append(iovs, iov)
	}
	if len(iovs) == 0 {
		return 0, iovs, nil
	}
	for {
		n, _, errno := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
		if errno == unix.EINTR {
			continue
		}
		clear(iovs) // drop references to the caller's buffers
		if errno != 0 {
			return 0, iovs, errno
		}
		return int(n), iovs, nil
	}
}
