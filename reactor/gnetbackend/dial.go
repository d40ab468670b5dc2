//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// Dial implements reactor.Engine. gnet's own connect (Client.Dial,
// Engine.Register) blocks in net.Dial without a timeout, so the connect runs
// here on a goroutine of its own, bounded by WithDialTimeout and by Stop;
// the connected socket is then enrolled into a gnet.Client that shares this
// engine's handler, and OnOpen runs on the client's loop. As with the native
// backend, a failure is reported by OnClose (no OnOpen) with a *net.OpError
// whose Err is the cause: reactor.ErrDialTimeout, reactor.ErrEngineStopped,
// or the connect's error. That OnClose runs on the dialing goroutine, not on
// a loop. Only stream networks (tcp, tcp4, tcp6, unix) can be dialed.
func (e *engine) Dial(network, addr string) error {
	return e.DialHandler(network, addr, nil)
}

// DialHandler implements reactor.Engine: Dial with the conn served by h
// rather than by the root handler (nil: the root handler). reactor has put
// the layers a TLS network asks for around h.
func (e *engine) DialHandler(network, addr string, h reactor.Handler) error {
	if h == nil {
		h = e.h
	}
	r := e.root
	if h != e.h {
		r = newRoute(h)
	}
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return fmt.Errorf("%w: Dial(%q): the gnet backend dials tcp, tcp4, tcp6, unix, tls and tls+unix", reactor.ErrUnsupported, network)
	}
	e.mu.Lock()
	if e.stopping {
		e.mu.Unlock()
		return reactor.ErrEngineStopped
	}
	if max := e.o.MaxConns; max > 0 && len(e.conns) >= max {
		e.mu.Unlock()
		return fmt.Errorf("dial %s %s: %w", network, addr, reactor.ErrTooManyConns)
	}
	// Added under mu, so that the drain's Wait sees every dial begun
	// before it set stopping.
	e.dialWG.Add(1)
	e.mu.Unlock()
	cli, err := e.dialClient()
	if err != nil {
		e.dialWG.Done()
		return err
	}
	go e.dial(cli, network, addr, r)
	return nil
}

func (e *engine) dial(cli *gnet.Client, network, addr string, r *route) {
	defer e.dialWG.Done()
	var ctx context.Context
	var cancel context.CancelFunc
	if deadline := e.o.DialDeadline(); deadline.IsZero() {
		ctx, cancel = context.WithCancel(e.dialCtx)
	} else {
		ctx, cancel = context.WithDeadline(e.dialCtx, deadline)
	}
	defer cancel()
	// Keep-alive and no-delay are the engine's, applied by the client;
	// net.Dialer's own defaults would outlive the dup gnet makes.
	d := net.Dialer{KeepAlive: -1}
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		switch {
		case e.dialCtx.Err() != nil:
			err = dialError(network, addr, reactor.ErrEngineStopped)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = dialError(network, addr, reactor.ErrDialTimeout)
		}
		e.dialFailed(network, addr, err, r)
		return
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(e.o.TCPNoDelay)
	}
	// Enroll dups the socket into the client's loop, runs OnOpen there and
	// closes nc.
	if _, err := cli.EnrollContext(nc, r); err != nil {
		e.dialFailed(network, addr, dialError(network, addr, fmt.Errorf("gnetbackend: enrolling into gnet's client: %w", err)), r)
	}
}

// dialError is how a failed dial reaches OnClose, as from the native
// backend.
func dialError(network, addr string, cause error) error {
	return &net.OpError{Op: "dial", Net: network, Addr: socket.UnresolvedAddr{Net: network, Address: addr}, Err: cause}
}

// dialFailed reports a dial that never opened: OnClose with a closed conn
// whose RemoteAddr is the address dialed.
func (e *engine) dialFailed(network, addr string, err error, r *route) {
	var remote net.Addr = socket.UnresolvedAddr{Net: network, Address: addr}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Addr != nil {
		remote = oe.Addr
	}
	w := &wconn{e: e, stats: &e.misc, route: r, remote: remote, fd: -1, gone: true}
	w.closed.Store(true)
	e.callClose(w, err)
}

// dialClient starts the gnet.Client on first use.
func (e *engine) dialClient() (*gnet.Client, error) {
	e.dialMu.Lock()
	defer e.dialMu.Unlock()
	if e.clientShut {
		return nil, reactor.ErrEngineStopped
	}
	if e.client != nil {
		return e.client, nil
	}
	cli, err := gnet.NewClient(&adapter{e: e, dialed: true}, gnetOptions(e.o, e.glog, true)...)
	if err != nil {
		return nil, fmt.Errorf("gnetbackend: starting gnet's client: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("gnetbackend: starting gnet's client: %w", err)
	}
	e.client = cli
	return cli, nil
}

// stopClient stops the client, once no dial is in flight; it returns after
// the client's loops have exited.
func (e *engine) stopClient() {
	e.dialMu.Lock()
	defer e.dialMu.Unlock()
	e.clientShut = true
	if e.client != nil {
		if err := e.client.Stop(); err != nil {
			e.log.Warn("stopping gnet's client", "err", err)
		}
	}
}
