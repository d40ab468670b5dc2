//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// Unix socket files, by the native backend's rules (internal/socket): a
// stale socket is replaced, anything else at the path is an error, and at
// stop the path is removed only if it is still the socket that was bound.
//
// gnet removes whatever is at a unix path (os.RemoveAll) before it binds it
// and again when it closes the listener. So gnet binds a private name in
// the same directory instead, and OnBoot moves the bound socket to the path
// asked for (link, which fails rather than replace a file that appeared
// meanwhile, then unlink): gnet's removals find nothing at its private
// name, and the path itself is removed here once gnet has stopped.
//
// Abstract names ("@name") are refused: gnet would remove a file named
// "@name" in the working directory at bind and at stop.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// maxUnixPath is the longest path every supported OS binds (sun_path is 104
// bytes on the BSDs, 108 on Linux, NUL included).
const maxUnixPath = 103

// privateUnixPath is the name gnet binds for the unix path target: a random
// one in the same directory, so that the socket can be moved to target.
func privateUnixPath(a reactor.Addr) (string, error) {
	target := a.Target
	if socket.IsAbstract(target) {
		return "", fmt.Errorf("%w: %s: gnet removes the file named like an abstract address in the working directory, at bind and at stop", reactor.ErrUnsupported, a)
	}
	var b [4]byte
	rand.Read(b[:])
	p := filepath.Join(filepath.Dir(target), ".evloop-"+hex.EncodeToString(b[:]))
	if len(p) > maxUnixPath && len(p) > len(target) {
		return "", fmt.Errorf("gnetbackend: %s: the directory's path is too long for the name gnet binds first (%s)", a, p)
	}
	return p, nil
}

// moveUnixSockets moves each unix listener's socket from gnet's private name
// to its path, at boot. A path taken meanwhile fails the start.
func (e *engine) moveUnixSockets() error {
	for i := range e.plan {
		p := &e.plan[i]
		if p.network != "unix" {
			continue
		}
		if err := unix.Link(p.address, p.unixPath); err != nil {
			return fmt.Errorf("reactor: %s: %w", p.addr, &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: p.unixPath, Net: "unix"}, Err: fmt.Errorf("link: %w", err)})
		}
		bound := socket.BoundUnixPath(p.unixPath)
		unix.Unlink(p.address)
		e.dupMu.Lock()
		e.unixPaths = append(e.unixPaths, bound)
		e.dupMu.Unlock()
	}
	return nil
}

// removeUnixSockets removes the unix listeners' paths that still hold the
// sockets bound, once gnet has closed them.
func (e *engine) removeUnixSockets() {
	e.dupMu.Lock()
	defer e.dupMu.Unlock()
	for _, p := range e.unixPaths {
		p.Remove()
	}
	e.unixPaths = nil
}
