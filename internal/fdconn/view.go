//go:build unix

package fdconn

import (
	"io"

	"github.com/evloop/evloop/conn"
)

// The reads of a conn's unconsumed inbound bytes, as conn.Conn defines them.
// FD and reactor's datagram conn both keep those bytes as one slice, and
// share these.

// Peek returns the next n bytes of in (n < 0: all) without consuming them;
// asking for more than there is returns what there is and io.ErrShortBuffer.
func Peek(in []byte, n int) ([]byte, error) {
	if n < 0 || n == len(in) {
		return in, nil
	}
	if n > len(in) {
		return in, io.ErrShortBuffer
	}
	return in[:n:n], nil
}

// Next returns and consumes the next n bytes of *in (n < 0: all). Asking for
// more than there is consumes nothing.
func Next(in *[]byte, n int) ([]byte, error) {
	b, err := Peek(*in, n)
	if err != nil {
		return nil, err
	}
	*in = (*in)[len(b):]
	return b, nil
}

// Discard drops the next n bytes of *in (n < 0 or more than there is: all).
func Discard(in *[]byte, n int) int {
	if n < 0 || n > len(*in) {
		n = len(*in)
	}
	*in = (*in)[n:]
	return n
}

// Read copies bytes of *in into p and consumes them. With none, it returns
// io.EOF once no more will come (ended), else conn.ErrNoData.
func Read(in *[]byte, p []byte, ended bool) (int, error) {
	if len(*in) == 0 {
		if ended {
			return 0, io.EOF
		}
		return 0, conn.ErrNoData
	}
	n := copy(p, *in)
	*in = (*in)[n:]
	return n, nil
}
