//go:build unix

package socket

import (
	"os"

	"golang.org/x/sys/unix"
)

// Connect starts a nonblocking connect of fd to sa. It reports whether the
// connect is still in progress: then the fd turns writable once it is done,
// and SocketError tells how it went. EINTR means in progress too (the
// kernel goes on connecting; calling connect again would fail with
// EALREADY).
func Connect(fd int, sa unix.Sockaddr) (inProgress bool, err error) {
	switch err := unix.Connect(fd, sa); err {
	case nil:
		return false, nil
	case unix.EINPROGRESS, unix.EINTR:
		return true, nil
	default:
		return false, os.NewSyscallError("connect", err)
	}
}
