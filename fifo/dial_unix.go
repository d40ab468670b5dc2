//go:build unix

package fifo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dial connects to the server whose well-known FIFO is at path, within
// DefaultDialTimeout. The net.Conn it returns is a *Conn.
func Dial(path string) (net.Conn, error) { return DialTimeout(path, DefaultDialTimeout) }

// DialTimeout is Dial with a bound on the whole handshake.
func DialTimeout(path string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return DialContext(ctx, path)
}

// DialContext is Dial bounded by ctx; without a deadline in ctx the
// handshake is still bounded by DefaultDialTimeout. Errors are *net.OpError
// wrapping ErrNoServer (nobody reads path), ErrNotFIFO, ErrHandshakeTimeout
// (with context.DeadlineExceeded), ctx's error, or a syscall error.
func DialContext(ctx context.Context, path string) (net.Conn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultDialTimeout)
		defer cancel()
	}
	c, err := dial(ctx, path)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "fifo", Addr: Addr{Path: path}, Err: err}
	}
	return c, nil
}

// clientPair is what a client holds while it handshakes: the names and the
// fds of its pair. release undoes whatever is left of it.
type clientPair struct {
	req         Request
	dir         string
	rfd, wfd    int // s2c read end, c2s write end
	placeholder int // a c2s read end of our own, so the write end opens without a server
}

func dial(ctx context.Context, path string) (*Conn, error) {
	wk, err := openWellKnown(path)
	if err != nil {
		return nil, err
	}
	defer unix.Close(wk)

	p, err := makePair()
	if err != nil {
		return nil, err
	}
	defer p.release()
	line := p.req.Line()
	if len(line) > MaxRequestLen {
		return nil, fmt.Errorf("%w: %d bytes; the temporary directory %s has too long a name", ErrTooLong, len(line), p.dir)
	}
	if err := writeRequest(ctx, wk, line); err != nil {
		return nil, err
	}
	r := os.NewFile(uintptr(p.rfd), p.req.S2C)
	w := os.NewFile(uintptr(p.wfd), p.req.C2S)
	p.rfd, p.wfd = -1, -1 // the files own them now
	if err := waitAck(ctx, r); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	return &Conn{r: r, w: w, local: Addr{Path: p.dir, PID: p.req.PID}, remote: Addr{Path: path}}, nil
}

// openWellKnown opens the server's FIFO for writing without blocking: with
// no server reading it the open fails with ENXIO, which is how Dial knows
// at once that nobody listens.
func openWellKnown(path string) (int, error) {
	fd, err := openRetry(path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENXIO:
		return -1, fmt.Errorf("%w at %s (%w)", ErrNoServer, path, syscall.ENXIO)
	case err == unix.ENOENT:
		return -1, fmt.Errorf("%w at %s (%w)", ErrNoServer, path, os.ErrNotExist)
	case err != nil:
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", path, ErrNotFIFO)
	}
	return fd, nil
}

// makePair creates the private directory and the two FIFOs and opens the
// client's ends: the s2c read end first (so the server's nonblocking open
// of the write end succeeds), then the c2s write end, which a nonblocking
// open grants only while some reader exists: the placeholder read end.
func makePair() (*clientPair, error) {
	pid := os.Getpid()
	var random [8]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", dirPrefix, pid))
	if err != nil {
		return nil, err
	}
	p := &clientPair{req: pairNames(dir, pid, hex.EncodeToString(random[:])), dir: dir, rfd: -1, wfd: -1, placeholder: -1}
	fail := func(op, path string, err error) (*clientPair, error) {
		p.release()
		return nil, &os.PathError{Op: op, Path: path, Err: err}
	}
	for _, name := range []string{p.req.C2S, p.req.S2C} {
		if err := unix.Mkfifo(name, 0o600); err != nil {
			return fail("mkfifo", name, err)
		}
	}
	if p.rfd, err = openRetry(p.req.S2C, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		return fail("open", p.req.S2C, err)
	}
	if p.placeholder, err = openRetry(p.req.C2S, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		return fail("open", p.req.C2S, err)
	}
	if p.wfd, err = openRetry(p.req.C2S, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err != nil {
		return fail("open", p.req.C2S, err)
	}
	return p, nil
}

// release closes what the pair still holds and removes its files and
// directory (the server may have unlinked the files already).
func (p *clientPair) release() {
	for _, fd := range []*int{&p.rfd, &p.wfd, &p.placeholder} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
	os.Remove(p.req.C2S)
	os.Remove(p.req.S2C)
	os.Remove(p.dir)
}

// writeRequest writes the request line in one write. The FIFO is
// nonblocking, and a write below PIPE_BUF either goes in whole or fails with
// EAGAIN when the pipe is full (a server behind on its requests): then it
// retries after a pause, until ctx ends.
func writeRequest(ctx context.Context, fd int, line []byte) error {
	pause := 500 * time.Microsecond
	for {
		n, err := unix.Write(fd, line)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EPIPE:
			return fmt.Errorf("%w (%w)", ErrNoServer, syscall.EPIPE)
		case err == unix.EAGAIN:
		case err != nil:
			return os.NewSyscallError("write", err)
		case n != len(line):
			return fmt.Errorf("fifo: request written in part (%d of %d bytes)", n, len(line))
		default:
			return nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctxErr(ctx)
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// waitAck reads the server's acknowledgement. Until the server opens its
// end, a read of the s2c FIFO returns 0 (no writer), which here means "not
// yet": the wait goes on in Go's poller, bounded by ctx through a read
// deadline, and ends when the acknowledgement arrives.
func waitAck(ctx context.Context, r *os.File) error {
	deadline, _ := ctx.Deadline()
	if err := r.SetReadDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { r.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := r.SyscallConn()
	if err != nil {
		return err
	}
	var ack [len(Ack)]byte
	got := 0
	var readErr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := unix.Read(int(fd), ack[got:])
			switch {
			case err == unix.EINTR:
				continue
			case err == unix.EAGAIN:
				return false
			case err != nil:
				readErr = os.NewSyscallError("read", err)
				return true
			case n == 0:
				return false
			}
			got += n
			if got == len(ack) {
				return true
			}
		}
	})
	switch {
	case err != nil && (ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)):
		// The read deadline is ctx's deadline; it may fire a moment before
		// ctx reports it.
		return ctxErr(ctx)
	case err != nil:
		return err
	case readErr != nil:
		return readErr
	case string(ack[:]) != Ack:
		return fmt.Errorf("%w: acknowledgement %q", ErrMalformed, ack[:])
	}
	return r.SetReadDeadline(time.Time{})
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w (%w)", ErrHandshakeTimeout, context.DeadlineExceeded)
}

// Conn is a client's end of a connected FIFO pair: a net.Conn over two
// nonblocking files, so reads and writes wait in Go's poller and deadlines
// work as on sockets.
type Conn struct {
	r, w          *os.File
	local, remote Addr
	writeClosed   atomic.Bool
	closed        atomic.Bool
}

// Read reads from the server; io.EOF once the server has closed.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	return n, c.opError("read", err)
}

// Write writes to the server.
func (c *Conn) Write(b []byte) (int, error) {
	if c.writeClosed.Load() && !c.closed.Load() {
		return 0, c.opError("write", errWriteClosed)
	}
	n, err := c.w.Write(b)
	return n, c.opError("write", err)
}

var errWriteClosed = errors.New("fifo: write half closed")

// CloseWrite closes the write half: the server reads EOF while this side
// can still read its reply.
func (c *Conn) CloseWrite() error {
	if c.closed.Load() || !c.writeClosed.CompareAndSwap(false, true) {
		return c.opError("close", net.ErrClosed)
	}
	return c.opError("close", c.w.Close())
}

// Close closes both halves; the server reads EOF.
func (c *Conn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return c.opError("close", net.ErrClosed)
	}
	var werr error
	if c.writeClosed.CompareAndSwap(false, true) {
		werr = c.w.Close() // first, so that the server reads EOF rather than a broken pipe
	}
	rerr := c.r.Close()
	return c.opError("close", errors.Join(werr, rerr))
}

// LocalAddr is the client's private directory (gone once connected) and pid.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the server's well-known FIFO.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets both deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// SetReadDeadline bounds Read; past it Read fails with an error for which
// errors.Is(err, os.ErrDeadlineExceeded).
func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.opError("set", c.r.SetReadDeadline(t))
}

// SetWriteDeadline bounds Write.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c.writeClosed.Load() {
		return nil
	}
	return c.opError("set", c.w.SetWriteDeadline(t))
}

// opError gives errors the shape package net uses: *net.OpError, with
// net.ErrClosed for a closed conn. io.EOF stays as it is.
func (c *Conn) opError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "fifo", Source: c.local, Addr: c.remote, Err: err}
}

var _ net.Conn = (*Conn)(nil)
