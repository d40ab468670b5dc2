//go:build unix

package socket

import (
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Inherited describes a socket a process received from its parent (fd://N,
// systemd socket activation).
type Inherited struct {
	Fd        int
	Type      int      // unix.SOCK_STREAM or unix.SOCK_DGRAM
	Family    int      // unix.AF_INET, AF_INET6 or AF_UNIX
	Listening bool     // a stream socket that listen(2) was called on
	Addr      net.Addr // the bound address
}

// ErrNotSocket is returned by Inherit for a fd that is not a socket.
var ErrNotSocket = errors.New("socket: inherited fd is not a socket")

// Inherit adopts fd: it makes it nonblocking and close-on-exec (a parent
// may have passed it blocking, and it must not leak into our own children)
// and reports what kind of socket it is.
func Inherit(fd int) (Inherited, error) {
	in := Inherited{Fd: fd}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return in, fmt.Errorf("fd %d: %w", fd, os.NewSyscallError("fcntl", err))
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err == unix.ENOTSOCK {
		return in, fmt.Errorf("fd %d: %w", fd, ErrNotSocket)
	}
	if err != nil {
		return in, fmt.Errorf("fd %d: %w", fd, os.NewSyscallError("getsockopt SO_TYPE", err))
	}
	in.Type = typ
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return in, fmt.Errorf("fd %d: %w", fd, os.NewSyscallError("getsockname", err))
	}
	switch sa.(type) {
	case *unix.SockaddrInet4:
		in.Family = unix.AF_INET
	case *unix.SockaddrInet6:
		in.Family = unix.AF_INET6
	case *unix.SockaddrUnix:
		in.Family = unix.AF_UNIX
	default:
		return in, fmt.Errorf("fd %d: unsupported address family", fd)
	}
	network := "tcp"
	switch {
	case in.Family == unix.AF_UNIX:
		network = "unix"
	case typ == unix.SOCK_DGRAM:
		network = "udp"
	}
	in.Addr = Addr(network, sa)
	if typ == unix.SOCK_STREAM {
		v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
		in.Listening = err == nil && v != 0
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		return in, fmt.Errorf("fd %d: %w", fd, os.NewSyscallError("fcntl", err))
	}
	return in, nil
}
