//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// datagram is the conn.Conn of one datagram on a udp:// listener. gnet has
// no UDP conns: it makes a gnet.Conn per datagram and never opens or closes
// it, so OnTraffic runs once per datagram, with no OnOpen and no OnClose.
// A datagram lives for that one callback; Write answers the sender.
type datagram struct {
	e             *engine
	gc            gnet.Conn
	stats         *loopStats
	route         *route // the listener's handler
	local, remote net.Addr
	fd            int
	ctx           any
	done          bool // OnTraffic has returned: gnet reuses its read buffer
}

var _ conn.Conn = (*datagram)(nil)

// serveDatagram runs OnTraffic for the datagram in gc.
func (e *engine) serveDatagram(gc gnet.Conn) gnet.Action {
	d := &datagram{e: e, gc: gc, stats: e.loopStatsOf(gc.EventLoop()), fd: gc.Fd()}
	d.remote = ownAddr(gc.RemoteAddr())
	d.local = e.acceptedLocal(gc)
	d.route = e.routes.accepted(gc)
	d.stats.bytesIn.Add(int64(gc.InboundBuffered()))
	a := d.callTraffic()
	d.done = true
	if a == reactor.Shutdown {
		e.shutdownAsync()
	}
	return gnet.None // the Close action means nothing without a conn
}

func (d *datagram) callTraffic() (a reactor.Action) {
	defer func() {
		if r := recover(); r != nil {
			d.stats.panics.Add(1)
			d.e.log.Error("handler panicked on a datagram", "callback", "OnTraffic", "remote", d.remote, "panic", r, "stack", stack())
			a = reactor.None
		}
	}()
	return d.route.h.OnTraffic(d)
}

// InboundBuffered implements conn.Conn.
func (d *datagram) InboundBuffered() int {
	if d.done {
		return 0
	}
	return d.gc.InboundBuffered()
}

// Read implements conn.Conn.
func (d *datagram) Read(p []byte) (int, error) {
	return readIn(d.gc, d.InboundBuffered(), d.done, p)
}

// Peek implements conn.Conn.
func (d *datagram) Peek(n int) ([]byte, error) { return peekIn(d.gc, d.InboundBuffered(), n) }

// Next implements conn.Conn.
func (d *datagram) Next(n int) ([]byte, error) { return nextIn(d.gc, d.InboundBuffered(), n) }

// Discard implements conn.Conn.
func (d *datagram) Discard(n int) (int, error) { return discardIn(d.gc, d.InboundBuffered(), n) }

// Write implements conn.Conn: one datagram to the sender.
func (d *datagram) Write(p []byte) (int, error) {
	n, err := d.gc.Write(p)
	if err != nil {
		return n, writeErr(err)
	}
	d.stats.bytesOut.Add(int64(n))
	return n, nil
}

// Writev implements conn.Conn: the buffers as one datagram.
func (d *datagram) Writev(bufs [][]byte) (int, error) { return d.Write(joinBufs(bufs)) }

// OutboundBuffered implements conn.Conn: a datagram is sent or dropped,
// never buffered.
func (d *datagram) OutboundBuffered() int { return 0 }

// AsyncWrite implements conn.Conn. It sends at once: gnet's AsyncWrite on
// UDP is synchronous, and the datagram's gnet conn may already be released.
func (d *datagram) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	if d.e.stopFlag.Load() {
		return conn.ErrClosed
	}
	err := mapErr(d.gc.AsyncWrite(p, nil))
	if err == nil {
		d.stats.bytesOut.Add(int64(len(p)))
	}
	if done != nil {
		done(d, err)
	}
	return err
}

// AsyncWritev implements conn.Conn: the buffers as one datagram.
func (d *datagram) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	return d.AsyncWrite(joinBufs(bufs), done)
}

// ShutdownWrite implements conn.Conn: unsupported, there is no stream.
func (d *datagram) ShutdownWrite() error {
	return fmt.Errorf("%w: ShutdownWrite on a UDP datagram", reactor.ErrUnsupported)
}

// SetIdleTimeout implements conn.Conn: unsupported, a datagram is never idle.
func (d *datagram) SetIdleTimeout(t time.Duration) error {
	if t < 0 {
		return errors.New("gnetbackend: negative idle timeout")
	}
	return fmt.Errorf("%w: SetIdleTimeout on a UDP datagram", reactor.ErrUnsupported)
}

// Wake implements conn.Conn: unsupported, the datagram is gone once its
// OnTraffic returns.
func (d *datagram) Wake() error {
	return fmt.Errorf("%w: Wake on a UDP datagram", reactor.ErrUnsupported)
}

// Close implements conn.Conn: unsupported.
func (d *datagram) Close() error {
	return fmt.Errorf("%w: Close on a UDP datagram: there is no connection", reactor.ErrUnsupported)
}

// Context implements conn.Conn.
func (d *datagram) Context() any { return d.ctx }

// SetContext implements conn.Conn.
func (d *datagram) SetContext(v any) { d.ctx = v }

// LocalAddr implements conn.Conn.
func (d *datagram) LocalAddr() net.Addr { return d.local }

// RemoteAddr implements conn.Conn.
func (d *datagram) RemoteAddr() net.Addr { return d.remote }

// Fd implements conn.Conn: the listener's socket.
func (d *datagram) Fd() int { return d.fd }
