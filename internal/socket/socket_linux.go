package socket

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Socket creates a nonblocking, close-on-exec socket in one syscall.
func Socket(family, typ, proto int) (int, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// Accept accepts one conn as a nonblocking, close-on-exec fd. EINTR is
// retried; other errors, EAGAIN included, are returned as they are.
func Accept(fd int) (int, unix.Sockaddr, error) {
	for {
		nfd, sa, err := unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		return nfd, sa, err
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
	return os.NewSyscallError("setsockopt TCP_KEEPIDLE", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs))
}
