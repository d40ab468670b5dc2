//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package socket

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Socket creates a nonblocking, close-on-exec socket. The BSDs we build for
// lack SOCK_NONBLOCK on every version, so the flags are set after creation
// under the fork lock, as package syscall does.
func Socket(family, typ, proto int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, typ, proto)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// AcceptInheritsOptions is false here: the options are set on each accepted
// conn, as package net does.
const AcceptInheritsOptions = false

// Accept accepts one conn as a nonblocking, close-on-exec fd. buf is unused
// here: x/sys's Accept decodes the address itself.
func Accept(fd int, network string, buf *AcceptBuf) (int, Peer, error) {
	for {
		syscall.ForkLock.RLock()
		nfd, sa, err := unix.Accept(fd)
		if err == nil {
			unix.CloseOnExec(nfd)
		}
		syscall.ForkLock.RUnlock()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, Peer{}, err
		}
		if err := unix.SetNonblock(nfd, true); err != nil {
			unix.Close(nfd)
			return -1, Peer{}, err
		}
		return nfd, PeerOf(network, sa), nil
	}
}

// SetKeepAlive enables keep-alive probes every period (0: off).
func SetKeepAlive(fd int, period time.Duration) error {
	if period <= 0 {
		return nil
	}
	secs := int((period + time.Second - 1) / time.Second)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_KEEPALIVE", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
	return nil
}
