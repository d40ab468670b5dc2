package reactor

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
)

// ErrNoActivation is returned for a systemd:// address when the process
// received no (matching) socket from systemd.
var ErrNoActivation = errors.New("reactor: no socket passed by systemd")

// listenFD serves an inherited socket, fd://N: a listening stream socket
// (tcp or unix) or a UDP socket. The engine takes the fd over: it makes it
// nonblocking and close-on-exec, and closes it on Stop, or when Start fails
// after taking it (a unix socket's path is left alone: it is not ours to
// remove). If the fd is not a socket it can serve, Start fails and leaves
// the fd open.
func (e *engine) listenFD(a Addr, r *route) error {
	n, err := strconv.Atoi(a.Target)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: %q: want fd://N with N a file descriptor number", ErrBadAddress, a.String())
	}
	return e.adopt(n, a, r)
}

// adoptAs serves the inherited socket an address names with fd=N
// (tcp://127.0.0.1:7000?fd=7), as fd://N is served, after checking that
// the socket is of the address's kind: a stream address wants a listening
// stream socket, a udp one a datagram socket. The address is not bound:
// the socket already is (to what its scheme and target say, normally).
func (e *engine) adoptAs(fd int, a Addr, r *route) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("reactor: %s: fd %d: %w", a, fd, os.NewSyscallError("getsockopt SO_TYPE", err))
	}
	want := unix.SOCK_STREAM
	if !a.IsStream() {
		want = unix.SOCK_DGRAM
	}
	if typ != want {
		return fmt.Errorf("reactor: %s: fd %d is not a %s socket", a, fd, a.Scheme)
	}
	return e.adopt(fd, a, r)
}

// adopt serves an inherited socket fd.
func (e *engine) adopt(fd int, a Addr, r *route) error {
	in, err := socket.Inherit(fd)
	if err != nil {
		return fmt.Errorf("reactor: %s: %w", a, err)
	}
	switch {
	case in.Type == unix.SOCK_STREAM && in.Listening:
		ln := &listener{fd: fd, addr: in.Addr, network: "tcp", origin: &fdconn.Origin{Handler: r}}
		if in.Family == unix.AF_UNIX {
			ln.network, ln.origin.Local = "unix", in.Addr
		} else if ta, ok := in.Addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
			ln.origin.Local = in.Addr
		}
		if err := ln.watch(e.loops[0]); err != nil {
			unix.Close(fd) // taken over already: Start failing closes it
			return err
		}
	case in.Type == unix.SOCK_DGRAM && in.Family != unix.AF_UNIX:
		if err := e.adoptPacket(e.nextOwner(), fd, in.Addr, in.Family, r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("reactor: %s: fd %d is neither a listening stream socket nor a UDP socket", a, fd)
	}
	e.addrs = append(e.addrs, in.Addr)
	return nil
}

// activatedSocket is one socket systemd passed, by FileDescriptorName.
type activatedSocket struct {
	fd    int
	name  string
	taken bool // served by an engine already
}

// activated holds the sockets systemd passed to this process. They are
// read from the environment once (which is then cleared, so children do
// not take them for theirs) and each may be served by one engine.
var activated struct {
	once    sync.Once
	mu      sync.Mutex
	sockets []*activatedSocket
}

// activationFiles is the registered source of passed sockets, nil until a
// package such as reactor/systemd registers one.
var activationFiles atomic.Pointer[func() []*os.File]

// RegisterActivation makes systemd:// addresses serve the sockets files
// returns: those a service manager passed to this process (LISTEN_FDS),
// named by their FileDescriptorName. files must also unset the variables
// that passed them, so that children do not take them for theirs. It is
// called once, from the init of package
// github.com/evloop/evloop/reactor/systemd, which a program imports to
// serve systemd:// addresses: this keeps go-systemd, and what it links
// (crypto/tls among it), out of programs that do not.
func RegisterActivation(files func() []*os.File) { activationFiles.Store(&files) }

// systemdImport is what a program imports to serve systemd:// addresses.
const systemdImport = "github.com/evloop/evloop/reactor/systemd"

func activatedSockets(files func() []*os.File) []*activatedSocket {
	activated.once.Do(func() {
		for _, f := range files() {
			// Keep a duplicate of our own and close the *os.File: the
			// file would close the fd when collected, and Go's poller may
			// have taken it (it does for a nonblocking fd).
			var dup int = -1
			if rc, err := f.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) {
					dup, _ = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
				})
			}
			f.Close()
			if dup >= 0 {
				activated.sockets = append(activated.sockets, &activatedSocket{fd: dup, name: f.Name()})
			}
		}
	})
	return activated.sockets
}

// listenSystemd serves the sockets systemd passed: all of them for
// systemd://, or those whose FileDescriptorName is NAME for systemd://NAME.
func (e *engine) listenSystemd(a Addr, r *route) error {
	return TakeActivated(a, func(fd int) error { return e.adopt(fd, a, r) })
}

// TakeActivated hands a backend the sockets a service manager passed
// (LISTEN_FDS) that a systemd:// address names: all of them for
// systemd://, those whose FileDescriptorName is NAME for systemd://NAME.
// adopt serves each as an inherited socket, as for fd://N, and takes it
// over; a socket adopt took is not handed out again, and adopt's error
// ends the call. It fails with ErrUnsupported when the program does not
// import reactor/systemd, and with ErrNoActivation when no socket is left
// for a.
func TakeActivated(a Addr, adopt func(fd int) error) error {
	files := activationFiles.Load()
	if files == nil {
		return fmt.Errorf("%w: %s: systemd:// addresses need import _ %q in the program", ErrUnsupported, a, systemdImport)
	}
	sockets := activatedSockets(*files)
	activated.mu.Lock()
	defer activated.mu.Unlock()
	served := 0
	for _, s := range sockets {
		if s.taken || (a.Target != "" && s.name != a.Target) {
			continue
		}
		if err := adopt(s.fd); err != nil {
			return err
		}
		s.taken = true
		served++
	}
	if served == 0 {
		what := "any"
		if a.Target != "" {
			what = "one named " + strconv.Quote(a.Target)
		}
		return fmt.Errorf("%w: %s: not %s (LISTEN_FDS unset, for another process, or already served)", ErrNoActivation, a, what)
	}
	return nil
}

// notifyReady tells systemd (Type=notify) that the engine serves. Without
// NOTIFY_SOCKET in the environment it does nothing.
func (e *engine) notifyReady() { sdnotify.Ready(e.opts.Logger) }
