//go:build unix

package fifo

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Handshake is the server side of one client's handshake, from its request
// to an open pair of fds. It never blocks: Step opens what can be opened
// now, and the caller retries it (on a timer) until it finishes or
// Deadline passes. Not safe for concurrent use.
type Handshake struct {
	req      Request
	rfd, wfd int
	deadline time.Time
	done     bool
	closed   bool
}

// Begin starts the handshake for req: it checks that the pair is two FIFOs
// (not symlinks) in a directory only their owner can write, and opens the
// c2s read end. The client holds the c2s write end before it sends its
// request, so the read end never sees an EOF that is not the client's.
func (l *Listener) Begin(req Request) (*Handshake, error) {
	if l.closed {
		return nil, ErrClosed
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	if err := checkPair(req); err != nil {
		return nil, err
	}
	rfd, err := openFIFO(req.C2S, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return &Handshake{req: req, rfd: rfd, wfd: -1, deadline: time.Now().Add(l.cfg.HandshakeTimeout)}, nil
}

// checkPair refuses a pair that someone other than its owner could have
// planted or could swap: the directory must be a real directory writable
// only by its owner, and both FIFOs real FIFOs of that owner.
func checkPair(req Request) error {
	var dir unix.Stat_t
	if err := unix.Lstat(req.Dir(), &dir); err != nil {
		return &os.PathError{Op: "lstat", Path: req.Dir(), Err: err}
	}
	if dir.Mode&unix.S_IFMT != unix.S_IFDIR || dir.Mode&0o022 != 0 {
		return fmt.Errorf("%w: %s is not a directory writable only by its owner", ErrMalformed, req.Dir())
	}
	for _, p := range []string{req.C2S, req.S2C} {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			return fmt.Errorf("%s: %w", p, ErrSymlink)
		case st.Mode&unix.S_IFMT != unix.S_IFIFO:
			return fmt.Errorf("%s: %w", p, ErrNotFIFO)
		case st.Uid != dir.Uid:
			return fmt.Errorf("%w: %s is not owned by its directory's owner", ErrMalformed, p)
		}
	}
	return nil
}

// openFIFO opens a FIFO nonblocking, never through a symlink, and checks
// that what it opened is a FIFO (the path may change after checkPair).
func openFIFO(path string, mode int) (int, error) {
	fd, err := openRetry(path, mode|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if isSymlinkErr(err) {
			return -1, fmt.Errorf("%s: %w", path, ErrSymlink)
		}
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", path, ErrNotFIFO)
	}
	return fd, nil
}

// Step tries to finish the handshake by opening the s2c write end. While the
// client has not opened its read end (ENXIO) it reports false and nil: call
// it again later. Past Deadline that becomes ErrHandshakeTimeout. Once both
// ends are open it unlinks the pair, writes Ack and reports true.
func (h *Handshake) Step() (bool, error) {
	switch {
	case h.closed:
		return false, ErrClosed
	case h.done:
		return true, nil
	}
	fd, err := openFIFO(h.req.S2C, unix.O_WRONLY)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok && pe.Err == unix.ENXIO {
			if time.Now().After(h.deadline) {
				return false, fmt.Errorf("%w: client pid %d never opened %s", ErrHandshakeTimeout, h.req.PID, h.req.S2C)
			}
			return false, nil
		}
		return false, err
	}
	h.wfd = fd
	// Both ends are open, so the names have served their purpose; the
	// client removes them too, with its directory, whoever comes first.
	unix.Unlink(h.req.C2S)
	unix.Unlink(h.req.S2C)
	// The pipe is empty and Ack is far below PIPE_BUF: one write takes it
	// whole or fails (EPIPE if the client has gone).
	for {
		n, err := unix.Write(fd, []byte(Ack))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, &os.PathError{Op: "write", Path: h.req.S2C, Err: err}
		}
		if n != len(Ack) {
			return false, fmt.Errorf("fifo: short write of the acknowledgement to %s", h.req.S2C)
		}
		break
	}
	h.done = true
	return true, nil
}

// Deadline is when Step gives up on a client that does not open its end.
func (h *Handshake) Deadline() time.Time { return h.deadline }

// Request is the request being served.
func (h *Handshake) Request() Request { return h.req }

// RemoteAddr is the client's address: its private directory and pid.
func (h *Handshake) RemoteAddr() Addr { return Addr{Path: h.req.Dir(), PID: h.req.PID} }

// Fds hands over the pair once Step has reported true: the fd to read the
// client from and the fd to write it to, both nonblocking and close-on-exec.
// The caller owns them from then on; the Handshake is spent.
func (h *Handshake) Fds() (rfd, wfd int) {
	if !h.done || h.closed {
		return -1, -1
	}
	rfd, wfd = h.rfd, h.wfd
	h.rfd, h.wfd = -1, -1
	h.closed = true
	return rfd, wfd
}

// Close abandons the handshake, closing whatever it opened. The client sees
// its handshake time out, or EOF if it already had the acknowledgement.
func (h *Handshake) Close() error {
	if h.closed {
		return ErrClosed
	}
	h.closed = true
	if h.rfd >= 0 {
		unix.Close(h.rfd)
	}
	if h.wfd >= 0 {
		unix.Close(h.wfd)
	}
	h.rfd, h.wfd = -1, -1
	return nil
}
