//go:build unix

package fdconn

import (
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/socket"
)

func readRetry(fd int, p []byte) (int, error) {
	for {
		n, err := socket.Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// writeRetry writes once; EAGAIN is not an error but zero bytes taken.
func writeRetry(fd int, p []byte) (int, error) {
	for {
		n, err := socket.Write(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}

func writevRetry(fd int, bufs [][]byte, iovs []unix.Iovec) (int, []unix.Iovec, error) {
	n, iovs, err := socket.Writev(fd, bufs, iovs)
	if err == unix.EAGAIN {
		return 0, iovs, nil
	}
	return n, iovs, err
}
