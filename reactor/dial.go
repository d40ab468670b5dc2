package reactor

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// pendingDial is one outbound connection from Dial to OnOpen or OnClose.
// Once on its loop it is watched as an endpoint while the connect is in
// progress.
type pendingDial struct {
	e        *engine
	l        *loop
	network  string // tcp, tcp4, tcp6 or unix
	address  string // as given to Dial
	deadline time.Time
	sa       unix.Sockaddr
	family   int
	remote   net.Addr
	route    *route // the conn's handler; nil: the root handler
	err      error  // a failure found before the loop got the dial (resolving)
	fd       int
	watched  bool // in the loop's poller and fd table
	finished bool // OnOpen or OnClose is decided
}

// Dial implements Engine. It returns at once; the conn lives in a loop like
// an accepted one, picked by the load balancer. OnOpen reports success;
// OnClose reports failure with a *net.OpError (errors.Is works for
// syscall.ECONNREFUSED and the like, ErrDialTimeout after WithDialTimeout,
// ErrEngineStopped when the engine stops first). Errors Dial returns itself
// mean that neither callback will run. A host name is resolved off the
// loops, so Dial never blocks a handler.
func (e *engine) Dial(network, address string) error {
	return e.DialHandler(network, address, nil)
}

// DialHandler implements Engine: Dial with the conn served by h rather
// than by the root handler (nil: the root handler). The front has put the
// layers a TLS network asks for around h.
func (e *engine) DialHandler(network, address string, h Handler) error {
	if h == nil {
		h = e.handler
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return fmt.Errorf("%w: dial %s (want tcp, tcp4, tcp6, unix, tls or tls+unix)", ErrUnsupported, network)
	}
	select {
	case <-e.done:
		return ErrEngineStopped
	default:
	}
	d := &pendingDial{e: e, network: network, address: address, deadline: e.opts.DialDeadline(), fd: -1}
	if h != e.handler {
		d.route = newRoute(h)
	}
	if network == "unix" {
		d.sa, d.family = &unix.SockaddrUnix{Name: address}, unix.AF_UNIX
		d.remote = &net.UnixAddr{Name: address, Net: "unix"}
		return e.startDial(d)
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: dial %s %q: %v", ErrBadAddress, network, address, err)
	}
	if _, perr := netip.ParseAddr(host); perr == nil || host == "" {
		if err := d.resolveLiteral(); err != nil {
			return err
		}
		return e.startDial(d)
	}
	// The loop is chosen now and, from its own goroutine, made to wait for
	// the dial: stopping the engine cuts the lookup short, and the loop
	// reports ErrEngineStopped. Done on the loop, the wait cannot begin
	// after the loop has decided to exit; a loop that has exited runs the
	// task as it closes its queue, and reports the dial failed.
	l := e.pick(nil, socket.UnresolvedAddr{Net: network, Address: address})
	d.remote = socket.UnresolvedAddr{Net: network, Address: address}
	if err := d.admit(); err != nil {
		return err
	}
	err = l.Post(func() {
		if l.exited {
			d.l = l
			d.fail(ErrEngineStopped) // releases its place
			return
		}
		l.resolving.Add(1)
		go e.resolveAndDial(d, l)
	})
	if err != nil {
		e.release()
		return ErrEngineStopped
	}
	return nil
}

// admit takes the dial's place under WithMaxConns.
func (d *pendingDial) admit() error {
	if !d.e.tryAdmit() {
		return fmt.Errorf("dial %s %s: %w", d.network, d.address, ErrTooManyConns)
	}
	return nil
}

func (d *pendingDial) resolveLiteral() error {
	sa, family, err := socket.Sockaddr(d.network, d.address)
	if err != nil {
		return fmt.Errorf("%w: dial %s %q: %v", ErrBadAddress, d.network, d.address, err)
	}
	d.sa, d.family, d.remote = sa, family, socket.Addr("tcp", sa)
	return nil
}

// lookupNetIP resolves host names for Dial; tests replace it.
var lookupNetIP = net.DefaultResolver.LookupNetIP

// resolveAndDial looks a host name up within the dial timeout, or until the
// engine begins to stop, then hands the dial (or its failure) to l, which
// does not exit while l.resolving counts it.
func (e *engine) resolveAndDial(d *pendingDial, l *loop) {
	ctx, cancel := withDeadline(context.Background(), d.deadline)
	defer cancel()
	go func() {
		select {
		case <-e.stopping:
			cancel()
		case <-ctx.Done():
		}
	}()
	host, port, _ := net.SplitHostPort(d.address)
	ipNet := map[string]string{"tcp": "ip", "tcp4": "ip4", "tcp6": "ip6"}[d.network]
	ips, err := lookupNetIP(ctx, ipNet, host)
	switch {
	case err != nil && ctx.Err() == context.Canceled:
		d.err = ErrEngineStopped // the lookup was cut short by the stop
	case err != nil:
		d.err = err
	case len(ips) == 0:
		d.err = &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	default:
		resolved := *d
		resolved.address = net.JoinHostPort(ips[0].Unmap().String(), port)
		if err := resolved.resolveLiteral(); err != nil {
			d.err = err
		} else {
			d.sa, d.family, d.remote = resolved.sa, resolved.family, resolved.remote
		}
	}
	err = l.Post(func() {
		l.connect(d)
		l.resolving.Add(-1)
	})
	if err != nil {
		// Only a loop whose poller failed exits with dials pending.
		e.release()
		e.opts.Logger.Warn("dial dropped: its loop has exited", "network", d.network, "address", d.address)
	}
}

// startDial gives the dial to the loop the balancer picks.
func (e *engine) startDial(d *pendingDial) error {
	if err := d.admit(); err != nil {
		return err
	}
	l := e.pick(nil, d.remote)
	if err := l.Post(func() { l.connect(d) }); err != nil {
		e.release()
		return ErrEngineStopped
	}
	return nil
}

// connect starts the nonblocking connect on the loop.
func (l *loop) connect(d *pendingDial) {
	d.l = l
	switch {
	case d.err != nil:
		d.fail(d.err)
		return
	case l.draining || l.exited:
		d.fail(ErrEngineStopped)
		return
	}
	fd, err := socket.Socket(d.family, unix.SOCK_STREAM, 0)
	if err != nil {
		d.fail(err)
		return
	}
	d.fd = fd
	if d.family != unix.AF_UNIX {
		o := l.engine.opts
		if o.TCPNoDelay {
			socket.SetNoDelay(fd, true)
		}
		socket.SetKeepAlive(fd, o.KeepAlive)
		socket.SetBuffers(fd, o.SocketRecvBuf, o.SocketSendBuf)
	}
	inProgress, err := socket.Connect(fd, d.sa)
	switch {
	case err != nil:
		d.fail(err)
	case !inProgress:
		d.connected()
	default:
		if err := l.watch(fd, d, poller.Writable); err != nil {
			d.fail(err)
			return
		}
		d.watched = true
		if !d.deadline.IsZero() {
			l.after(max(time.Until(d.deadline), 0), d.expire)
		}
	}
}

// ready implements watcher: the connect finished, one way or the other.
func (d *pendingDial) ready(int, poller.Event) {
	if d.finished {
		return
	}
	d.l.unwatch(d.fd)
	d.watched = false
	err := socket.SocketError(d.fd)
	if err != nil {
		d.fail(os.NewSyscallError("connect", err))
		return
	}
	if _, perr := unix.Getpeername(d.fd); perr != nil {
		// Reported ready with no pending error but not connected: the
		// error was consumed elsewhere; say what we know.
		d.fail(os.NewSyscallError("connect", perr))
		return
	}
	d.connected()
}

// expire is the dial timeout's timer.
func (d *pendingDial) expire() {
	if !d.finished {
		d.fail(ErrDialTimeout)
	}
}

// close implements endpoint: the loop is stopping with the dial pending.
func (d *pendingDial) close() {
	if !d.finished {
		d.watched = false // the loop removes it
		d.fail(ErrEngineStopped)
	}
}

// connected adopts the socket as a conn: register, then OnOpen.
func (d *pendingDial) connected() {
	d.finished = true
	l := d.l
	var local net.Addr
	if sa, err := unix.Getsockname(d.fd); err == nil {
		local = socket.Addr(d.netFamily(), sa)
	}
	c := fdconn.NewFD(d.fd, d.fd, &fdconn.Origin{Local: local, Handler: d.route}, d.remote, &l.shared)
	d.fd = -1
	if err := l.register(c); err != nil {
		// register has closed the socket and counted the conn out; the
		// dial still owes its OnClose.
		l.callClose(c, &net.OpError{Op: "dial", Net: d.network, Addr: d.remote, Err: err})
		c.ReleaseInbound()
	}
}

func (d *pendingDial) netFamily() string {
	if d.family == unix.AF_UNIX {
		return "unix"
	}
	return "tcp"
}

// fail reports the dial's failure: OnClose with a conn whose RemoteAddr is
// the address dialed, and the cause as a *net.OpError.
func (d *pendingDial) fail(cause error) {
	d.finished = true
	l := d.l
	if d.watched {
		l.unwatch(d.fd)
		d.watched = false
	}
	c := fdconn.NewFD(d.fd, d.fd, &fdconn.Origin{Handler: d.route}, d.remote, &l.shared)
	d.fd = -1
	c.Release() // closes the socket, if any
	l.callClose(c, &net.OpError{Op: "dial", Net: d.network, Addr: d.remote, Err: cause})
	c.ReleaseInbound()
	l.engine.release()
}

var _ Engine = (*engine)(nil)
