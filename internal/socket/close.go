//go:build unix

package socket

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// HangupCause is the OnClose cause of a socket that hung up (POLLHUP,
// POLLERR) with nothing left to read: its pending error (SO_ERROR) as
// "socket error: <errno>", or nil when there is none, or it cannot be read.
func HangupCause(fd int) error {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && v != 0 {
		return fmt.Errorf("socket error: %w", unix.Errno(v))
	}
	return nil
}
