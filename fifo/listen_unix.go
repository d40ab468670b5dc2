//go:build unix

package fifo

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ListenConfig configures a well-known FIFO.
type ListenConfig struct {
	// Mode is the FIFO's permission bits, applied exactly (the umask does
	// not narrow them); 0 means DefaultMode. Whoever may write the FIFO may
	// connect.
	Mode os.FileMode
	// HandshakeTimeout bounds how long a server waits for one client to
	// open its end of an announced pair; 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
}

// ParseTarget splits the target of a fifo:// address into the path and its
// optional settings, given as query parameters: mode (octal permission bits)
// and timeout (a handshake timeout in Go duration syntax), as in
// fifo:///run/app.fifo?mode=0660&timeout=2s. A path cannot contain '?'.
func ParseTarget(target string) (string, ListenConfig, error) {
	var cfg ListenConfig
	path, query, hasQuery := strings.Cut(target, "?")
	if path == "" {
		return "", cfg, fmt.Errorf("fifo: empty path in %q", target)
	}
	if !hasQuery {
		return path, cfg, nil
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return "", cfg, fmt.Errorf("fifo: bad settings in %q: %w", target, err)
	}
	for key, vs := range values {
		v := vs[len(vs)-1]
		switch key {
		case "mode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil || m > 0o777 || m == 0 {
				return "", cfg, fmt.Errorf("fifo: bad mode %q in %q (want octal such as 0660)", v, target)
			}
			cfg.Mode = os.FileMode(m)
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return "", cfg, fmt.Errorf("fifo: bad timeout %q in %q", v, target)
			}
			cfg.HandshakeTimeout = d
		default:
			return "", cfg, fmt.Errorf("fifo: unknown setting %q in %q (want mode or timeout)", key, target)
		}
	}
	return path, cfg, nil
}

// Listener is the server side of a well-known FIFO: the FIFO, held open
// read-write and nonblocking, its lock, and the bytes of a request line not
// yet complete. It does no I/O of its own accord: an event loop watches Fd
// and calls ReadRequests when it is readable. A Listener is not safe for
// concurrent use.
type Listener struct {
	path     string
	lockPath string
	cfg      ListenConfig
	fd       int
	lockFd   int
	dev, ino uint64 // the FIFO we created, so Close removes only that

	readBuf    [4096]byte
	partial    []byte // the tail of a line whose newline has not arrived
	discarding bool   // the line in partial was reported as too long
	closed     bool
}

// Listen creates the well-known FIFO at path and opens it. It takes an
// exclusive lock on path+".lock" first: if another server holds it, Listen
// fails with ErrInUse. A FIFO already at path is then left over from a
// server that died, and is replaced unless some process has it open for
// reading (an ErrInUse too). A symlink (ErrSymlink) or any other kind of
// file (ErrNotFIFO) at path is refused and left alone.
func Listen(path string, cfg ListenConfig) (*Listener, error) {
	if path == "" {
		return nil, errors.New("fifo: empty path")
	}
	path = filepath.Clean(path)
	if cfg.Mode == 0 {
		cfg.Mode = DefaultMode
	}
	cfg.Mode &= os.ModePerm
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	l := &Listener{path: path, lockPath: path + ".lock", cfg: cfg, fd: -1, lockFd: -1}
	var err error
	if l.lockFd, err = acquireLock(l.lockPath); err != nil {
		return nil, err
	}
	if err := l.create(); err != nil {
		l.releaseLock()
		return nil, err
	}
	return l, nil
}

// acquireLock opens and flocks the lock file. A server that stops unlinks
// its lock file before closing it, so between our open and our flock the
// file we opened may have left the path; then the lock protects nothing and
// we try again with the file that is there now.
func acquireLock(lockPath string) (int, error) {
	for attempt := 0; attempt < 8; attempt++ {
		fd, err := openRetry(lockPath, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			if isSymlinkErr(err) {
				return -1, fmt.Errorf("fifo: lock file %s: %w", lockPath, ErrSymlink)
			}
			return -1, &os.PathError{Op: "open", Path: lockPath, Err: err}
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(fd)
			return -1, fmt.Errorf("fifo: lock file %s is not a regular file", lockPath)
		}
		if err := flockRetry(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(fd)
			if err == unix.EWOULDBLOCK {
				return -1, fmt.Errorf("%w: %s is locked (%s)", ErrInUse, lockPath, unix.EADDRINUSE)
			}
			return -1, &os.PathError{Op: "flock", Path: lockPath, Err: err}
		}
		var now unix.Stat_t
		if unix.Lstat(lockPath, &now) == nil && now.Ino == st.Ino && now.Dev == st.Dev {
			return fd, nil
		}
		unix.Close(fd)
	}
	return -1, fmt.Errorf("%w: %s keeps changing", ErrInUse, lockPath)
}

// create makes the FIFO, replacing a stale one, and opens it read-write.
func (l *Listener) create() error {
	var st unix.Stat_t
	err := unix.Lstat(l.path, &st)
	switch {
	case err == unix.ENOENT:
	case err != nil:
		return &os.PathError{Op: "lstat", Path: l.path, Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return fmt.Errorf("fifo: listen %s: %w", l.path, ErrSymlink)
	case st.Mode&unix.S_IFMT != unix.S_IFIFO:
		return fmt.Errorf("fifo: listen %s: %w (refusing to replace it)", l.path, ErrNotFIFO)
	default:
		// We hold the lock, so no server that locks serves this FIFO. If a
		// process still reads it (a server that predates the lock), a
		// nonblocking open for writing succeeds; with no reader it fails with
		// ENXIO and the FIFO is stale.
		probe, err := openRetry(l.path, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err == nil {
			unix.Close(probe)
			return fmt.Errorf("%w: %s has a reader (%s)", ErrInUse, l.path, unix.EADDRINUSE)
		}
		if err != unix.ENXIO {
			return &os.PathError{Op: "open", Path: l.path, Err: err}
		}
		if err := unix.Unlink(l.path); err != nil && err != unix.ENOENT {
			return &os.PathError{Op: "remove stale fifo", Path: l.path, Err: err}
		}
	}
	if err := unix.Mkfifo(l.path, 0o600); err != nil {
		return &os.PathError{Op: "mkfifo", Path: l.path, Err: err}
	}
	// Read-write: the server is a writer of its own FIFO too, so it never
	// reads EOF when the last client closes, and readiness stays quiet
	// between clients.
	fd, err := openRetry(l.path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Unlink(l.path)
		return &os.PathError{Op: "open", Path: l.path, Err: err}
	}
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		return fmt.Errorf("fifo: listen %s: %w (replaced while opening)", l.path, ErrNotFIFO)
	}
	if err := unix.Fchmod(fd, uint32(l.cfg.Mode)); err != nil {
		unix.Close(fd)
		unix.Unlink(l.path)
		return &os.PathError{Op: "chmod", Path: l.path, Err: err}
	}
	l.fd, l.dev, l.ino = fd, uint64(st.Dev), uint64(st.Ino)
	return nil
}

// Fd is the fd to watch for readability; Listener owns it.
func (l *Listener) Fd() int { return l.fd }

// Addr is the well-known FIFO's address.
func (l *Listener) Addr() Addr { return Addr{Path: l.path} }

// Config is the configuration in effect, defaults filled in.
func (l *Listener) Config() ListenConfig { return l.cfg }

// maxReadsPerCall bounds ReadRequests so that a flood of requests cannot
// hold the event loop; the FIFO stays readable and the loop comes back.
const maxReadsPerCall = 16

// ReadRequests reads the request lines waiting in the FIFO without blocking
// and calls fn for each, with the parsed request or with the reason bytes
// are skipped (ErrMalformed, ErrTooLong). A line split across reads is
// completed on a later call; stray bytes written with no newline are skipped
// rather than spoiling the request that follows them (see split). It returns
// nil once the FIFO is drained or the per-call bound is reached, or the read
// error.
func (l *Listener) ReadRequests(fn func(Request, error)) error {
	if l.closed {
		return ErrClosed
	}
	for i := 0; i < maxReadsPerCall; i++ {
		n, err := unix.Read(l.fd, l.readBuf[:])
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return nil
		case err != nil:
			return &os.PathError{Op: "read", Path: l.path, Err: err}
		case n == 0:
			return nil // not with O_RDWR; a guard against spinning all the same
		}
		l.split(l.readBuf[:n], fn)
		if n < len(l.readBuf) {
			return nil
		}
	}
	return nil
}

// split cuts p into lines, keeping an unfinished one for later, and calls
// fn for the request each line ends with and for the bytes it skips.
//
// Every real request is one atomic write that starts with Magic and ends
// with its newline, but anyone who can open the FIFO may also write bytes
// with no newline, and those prefix the next client's request on the same
// line. So a line is searched for the request it ends with (endLine), and an
// unfinished line keeps only its last MaxRequestLen-1 bytes: that is the
// most of a request that can come before its newline, so memory stays
// bounded however long the garbage, and a request that follows it is still
// whole when its newline comes. Bytes are kept raw, not cut at Magic, so a
// Magic split across two reads is found too.
func (l *Listener) split(p []byte, fn func(Request, error)) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.partial = append(l.partial, p...)
			if drop := len(l.partial) - (MaxRequestLen - 1); drop > 0 {
				if !l.discarding {
					fn(Request{}, fmt.Errorf("%w: no newline in %d bytes", ErrTooLong, MaxRequestLen))
					l.discarding = true // reported once, however long the line
				}
				l.partial = append(l.partial[:0], l.partial[drop:]...)
			}
			return
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(l.partial) > 0 {
			l.partial = append(l.partial, line...)
			line = l.partial
		}
		l.endLine(line, fn)
		l.partial = l.partial[:0]
		l.discarding = false
	}
}

// endLine reports the request a complete line ends with, if any, after the
// bytes before it (unless split already reported them as too long).
func (l *Listener) endLine(line []byte, fn func(Request, error)) {
	reported := l.discarding
	if len(line) > MaxRequestLen {
		if !reported {
			fn(Request{}, fmt.Errorf("%w: line of %d bytes (max %d)", ErrTooLong, len(line), MaxRequestLen))
			reported = true
		}
		line = line[len(line)-MaxRequestLen:] // only the tail can hold a request
	}
	at, req, err := lastRequest(line)
	if !reported {
		switch {
		case at < 0:
			fn(Request{}, err)
		case at > 0:
			fn(Request{}, fmt.Errorf("%w: %d stray bytes before a request", ErrMalformed, at))
		}
	}
	if at >= 0 {
		fn(req, nil)
	}
}

// lastRequest finds the request that line ends with: the suffix from the
// last Magic that parses. It returns the suffix's offset, or -1 and why the
// line does not parse. Trying the last Magic first is what makes this
// right: a later Magic can only be inside the real request's quoted paths,
// where it cannot parse (a request needs a '"' right after its pid, and a
// '"' inside a quoted path is escaped), whereas an earlier one may be stray
// bytes that happen to start with Magic.
func lastRequest(line []byte) (int, Request, error) {
	var err error
	for end := len(line); ; {
		i := bytes.LastIndex(line[:end], []byte(Magic))
		if i < 0 {
			break
		}
		var req Request
		if req, err = ParseRequest(line[i:]); err == nil {
			return i, req, nil
		}
		end = i
	}
	if err == nil { // no Magic at all
		_, err = ParseRequest(line)
	}
	return -1, Request{}, err
}

// Close removes the FIFO (if it is still the one this Listener made) and the
// lock file, and closes both. Requests still in the FIFO are dropped; their
// clients time out.
func (l *Listener) Close() error {
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	var st unix.Stat_t
	var err error
	// Unlink before closing, so that a client opening the path now finds no
	// FIFO rather than one that nobody will read.
	if unix.Lstat(l.path, &st) == nil && uint64(st.Dev) == l.dev && uint64(st.Ino) == l.ino {
		if uerr := unix.Unlink(l.path); uerr != nil && uerr != unix.ENOENT {
			err = &os.PathError{Op: "remove", Path: l.path, Err: uerr}
		}
	}
	unix.Close(l.fd)
	l.fd = -1
	l.releaseLock()
	return err
}

// releaseLock unlinks the lock file while still holding the lock, so a
// server starting now either fails to lock it or finds it gone and makes a
// new one (acquireLock checks which).
func (l *Listener) releaseLock() {
	var st, now unix.Stat_t
	if unix.Fstat(l.lockFd, &st) == nil && unix.Lstat(l.lockPath, &now) == nil && now.Dev == st.Dev && now.Ino == st.Ino {
		unix.Unlink(l.lockPath)
	}
	unix.Close(l.lockFd)
	l.lockFd = -1
}

func openRetry(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func flockRetry(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}

// isSymlinkErr tells whether an O_NOFOLLOW open failed on a symlink: ELOOP
// on Linux and darwin, EMLINK on FreeBSD.
func isSymlinkErr(err error) bool { return err == unix.ELOOP || err == unix.EMLINK }
