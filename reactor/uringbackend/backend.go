//go:build linux

package uringbackend

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend/internal/ring"
)

// probe tells why io_uring cannot be used here; a variable so tests can
// inject the failure of a kernel or sandbox without io_uring.
var probe = ring.Probe

// Start binds each spec's address, calls OnBoot and serves, as reactor.Start
// does. It fails with an error wrapping reactor.ErrUnsupported when io_uring
// is unavailable or an option or address is one this backend does not serve.
func (b Backend) Start(h reactor.Handler, specs []reactor.ListenSpec, o *reactor.Options) (reactor.Engine, error) {
	if h == nil {
		return nil, errors.New("uringbackend: nil handler")
	}
	if o == nil {
		o = reactor.NewOptions()
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no address to listen on", reactor.ErrBadAddress)
	}
	if err := probe(); err != nil {
		return nil, fmt.Errorf("%w: uring backend: %w", reactor.ErrUnsupported, err)
	}
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	for _, sp := range specs {
		if err := checkAddr(sp); err != nil {
			return nil, err
		}
	}
	e := newEngine(h, o)
	e.multishot = b.multishot
	for i := 0; i < o.Loops; i++ {
		l, err := newLoop(i, e)
		if err != nil {
			e.abort()
			if errors.Is(err, ring.ErrUnavailable) {
				err = fmt.Errorf("%w: uring backend: %w", reactor.ErrUnsupported, err)
			}
			return nil, err
		}
		e.loops = append(e.loops, l)
	}
	for _, sp := range specs {
		if err := e.listen(sp); err != nil {
			e.abort()
			return nil, err
		}
	}
	if callBoot(e) == reactor.Shutdown {
		e.abort()
		e.finish()
		return e, nil
	}
	// READY before the loops run: one that stops at once must not have its
	// STOPPING overtaken by READY. The listeners are bound already.
	sdnotify.Ready(e.log)
	e.run()
	return e, nil
}

// checkOptions refuses the options this backend does not honour.
func checkOptions(o *reactor.Options) error {
	if o.Poller != poller.Auto {
		return fmt.Errorf("%w: WithPoller(%v): the uring backend polls with io_uring", reactor.ErrUnsupported, o.Poller)
	}
	if o.Loops < 1 {
		return fmt.Errorf("uringbackend: WithLoops(%d): want at least 1", o.Loops)
	}
	return nil
}

// checkAddr refuses the addresses this backend does not serve.
func checkAddr(sp reactor.ListenSpec) error {
	a := sp.Addr
	if sp.Handler == nil {
		return fmt.Errorf("uringbackend: %s: nil handler", a)
	}
	if _, ok := inheritedFD(a); ok {
		return nil // adopt checks that it is a listening stream socket
	}
	switch a.Scheme {
	case "tcp", "tcp4", "tcp6", "unix", "udp", "udp4", "udp6", "systemd", "fifo":
		return nil
	}
	return fmt.Errorf("%w: %s addresses: the uring backend serves tcp, unix, udp, fifo, fd and systemd", reactor.ErrUnsupported, a.Scheme)
}

// inheritedFD is the fd an address names: ?fd=N, or fd://N.
func inheritedFD(a reactor.Addr) (int, bool) {
	if fd, ok := a.InheritedFD(); ok {
		return fd, true
	}
	if a.Scheme == "fd" {
		if n, err := strconv.Atoi(a.Target); err == nil && n >= 0 {
			return n, true
		}
	}
	return -1, false
}

// adopt serves an inherited listening stream socket (an upgrade's, or one
// a supervisor passed) on the first loop.
func (e *engine) adopt(fd int, a reactor.Addr, r *route) error {
	in, err := socket.Inherit(fd)
	if err != nil {
		return fmt.Errorf("reactor: %s: %w", a, err)
	}
	if in.Type == unix.SOCK_DGRAM && in.Family != unix.AF_UNIX {
		e.adoptPacket(e.loops[len(e.addrs)%len(e.loops)], fd, in.Addr, in.Family, r)
		e.addrs = append(e.addrs, in.Addr)
		return nil
	}
	if in.Type != unix.SOCK_STREAM || !in.Listening {
		return fmt.Errorf("reactor: %s: fd %d is neither a listening stream socket nor a UDP socket", a, fd)
	}
	ln := &listener{fd: fd, addr: in.Addr, network: "tcp", route: r, shared: true}
	if in.Family == unix.AF_UNIX {
		ln.network, ln.local = "unix", &addrBox{in.Addr}
	} else if ta, ok := in.Addr.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
		ln.local = &addrBox{in.Addr}
	}
	e.loops[0].listeners = append(e.loops[0].listeners, ln)
	e.addrs = append(e.addrs, in.Addr)
	return nil
}

// listen binds one address: on the first loop, or with ReusePort on every
// loop, each with its own listening socket.
func (e *engine) listen(sp reactor.ListenSpec) error {
	a := sp.Addr
	r := newRoute(sp.Handler)
	if fd, ok := inheritedFD(a); ok {
		return e.adopt(fd, a, r)
	}
	if a.Scheme == "systemd" {
		return reactor.TakeActivated(a, func(fd int) error { return e.adopt(fd, a, r) })
	}
	if a.Scheme == "fifo" {
		return e.listenFIFO(a, r)
	}
	if !a.IsStream() {
		return e.listenUDP(a, r)
	}
	owners := e.loops[:1]
	reuse := e.o.ReusePort && a.Scheme != "unix"
	if reuse {
		owners = e.loops
	}
	target := a.Target
	for i, l := range owners {
		fd, bound, err := socket.Listen(a.Scheme, target, reuse, e.setTCPOptions)
		if err != nil {
			return fmt.Errorf("reactor: %s: %w", a, err)
		}
		ln := &listener{fd: fd, addr: bound, network: "tcp", route: r}
		if a.Scheme == "unix" {
			ln.network, ln.unlink, ln.local = "unix", socket.BoundUnixPath(a.Target), &addrBox{bound}
		} else if ta, ok := bound.(*net.TCPAddr); ok && !ta.IP.IsUnspecified() {
			ln.local = &addrBox{bound}
		}
		l.listeners = append(l.listeners, ln)
		if i == 0 {
			e.addrs = append(e.addrs, bound)
			target = bound.String() // port 0: every loop binds the port the first got
		}
	}
	return nil
}

// setTCPOptions puts the engine's socket options on a listener (accepted
// conns inherit them on Linux) or a dialed socket.
func (e *engine) setTCPOptions(fd int) {
	if e.o.TCPNoDelay {
		socket.SetNoDelay(fd, true)
	}
	socket.SetKeepAlive(fd, e.o.KeepAlive)
	socket.SetBuffers(fd, e.o.SocketRecvBuf, e.o.SocketSendBuf)
}
