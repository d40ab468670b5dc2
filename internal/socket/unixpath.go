//go:build unix

package socket

// The life of a unix socket's file, the same for every backend and for
// upgrades:
//   - before binding, a socket file nobody listens on (a crashed server's)
//     is removed; anything else at the path is an error: a live server's
//     socket, or a file that is no socket;
//   - at stop, the path is removed only if it is still the socket that was
//     bound (same device and inode), so a file or socket put in its place
//     since is left alone;
//   - an abstract name (Linux, "@name") has no file: nothing is checked or
//     removed, whatever "@name" names in the working directory.

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsAbstract tells whether a unix socket address names Linux's abstract
// namespace ("@name", as x/sys/unix spells it) rather than a file.
func IsAbstract(path string) bool {
	return abstractNamespace && strings.HasPrefix(path, "@")
}

// UnixPath is the file a unix socket was bound to, identified by device and
// inode. The zero value (and nil) names nothing.
type UnixPath struct {
	path     string
	dev, ino uint64
}

// BoundUnixPath identifies the socket file just bound at path, for Remove.
// It returns nil for an abstract name, or when path is not a socket (then
// there is nothing of ours to remove).
func BoundUnixPath(path string) *UnixPath {
	if path == "" || IsAbstract(path) {
		return nil
	}
	p, ok := lstatSocket(path)
	if !ok {
		return nil
	}
	return &p
}

// Path returns the path, "" for nil.
func (p *UnixPath) Path() string {
	if p == nil {
		return ""
	}
	return p.path
}

// Remove unlinks the path if it is still the socket file that was bound.
// Between the check and the unlink another process could swap the file; a
// server's own directory is not expected to be raced like that.
func (p *UnixPath) Remove() {
	if p == nil || p.path == "" {
		return
	}
	if now, ok := lstatSocket(p.path); ok && now == *p {
		unix.Unlink(p.path)
	}
}

// lstatSocket identifies the socket file at path; ok is false if there is
// none, or it is not a socket.
func lstatSocket(path string) (UnixPath, bool) {
	var st unix.Stat_t
	if unix.Lstat(path, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return UnixPath{}, false
	}
	return UnixPath{path: path, dev: uint64(st.Dev), ino: uint64(st.Ino)}, true
}

// RemoveStaleUnixSocket removes path if it is a stale unix socket file: one
// whose connect is refused (ECONNREFUSED), which is what the kernel says
// when no socket listens on it, as after a crash. Nothing at path, or an
// abstract name, is no error. A socket that accepts the connect, or answers
// anything else (EAGAIN: a live listener with a full backlog; EACCES), is in
// use or may be, and a file that is no socket is never ours to remove:
// both are errors wrapping EADDRINUSE.
//
// On the BSDs and macOS a full backlog is refused with ECONNREFUSED too, so
// there a live but swamped listener's path can be taken for stale.
func RemoveStaleUnixSocket(path string) error {
	if IsAbstract(path) {
		return nil // the kernel frees the name with its last socket
	}
	before, ok := lstatSocket(path)
	if !ok {
		if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		return fmt.Errorf("listen unix %s: %w (exists and is not a socket)", path, syscall.EADDRINUSE)
	}
	switch err := probeUnix(path); err {
	case nil:
		return fmt.Errorf("listen unix %s: %w (a server is listening)", path, syscall.EADDRINUSE)
	case unix.ECONNREFUSED:
		before.Remove() // only if no one has replaced it since
		return nil
	case unix.ENOENT:
		return nil // removed meanwhile
	default:
		return fmt.Errorf("listen unix %s: %w (a socket that may be in use: connect: %v)", path, syscall.EADDRINUSE, err)
	}
}

// probeUnix connects to the stream socket at path without blocking and
// returns connect's errno (nil if it connected).
func probeUnix(path string) error {
	fd, err := Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Connect(fd, &unix.SockaddrUnix{Name: path})
}
