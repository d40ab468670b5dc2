//go:build unix

package socket

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// LingerTimeout bounds how long a conn closed after its output was flushed
// waits, its write half shut, for the peer's end of stream: closing a socket
// with unread input sends RST, which makes the peer's kernel drop what it
// has not read yet. Both backends linger this long.
const LingerTimeout = 2 * time.Second

// HangupCause is the OnClose cause of a socket that hung up (POLLHUP,
// POLLERR) with nothing left to read: its pending error (SO_ERROR) as
// "socket error: <errno>", or nil when there is none, or it cannot be read.
func HangupCause(fd int) error {
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && v != 0 {
		return fmt.Errorf("socket error: %w", unix.Errno(v))
	}
	return nil
}
