package reactor

import (
	"fmt"
	"net"

	"github.com/evloop/evloop/poller"
)

// specialFD is a fd a loop watches that is neither a conn nor a listening
// stream socket: a UDP socket (udp.go), a FIFO's request pipe (fifo.go), a
// connect in progress (dial.go). It sits in the loop's listeners map with
// listener.special set, so that stopping the loop closes it with the
// listeners; dispatch hands its readiness to ready.
type specialFD interface {
	// ready handles readiness of the fd, on the loop goroutine.
	ready(ev poller.Event)
	// close releases the fd and whatever hangs off it. The loop has
	// already removed the fd from its poller and deletes the entry after.
	close()
}

// listenOther binds the address forms other than tcp and unix streams.
func (e *engine) listenOther(a Addr, r *route) error {
	switch a.Scheme {
	case "udp", "udp4", "udp6":
		return e.listenUDP(a, r)
	case "fifo":
		return e.listenFIFO(a, r)
	case "fd":
		return e.listenFD(a, r)
	case "systemd":
		return e.listenSystemd(a, r)
	}
	return fmt.Errorf("%w: %s addresses", ErrUnsupported, a.Scheme)
}

// nextOwner picks the loop for a UDP socket or a FIFO. They are served on
// the loop that watches them (a datagram has no conn to hand off, and FIFO
// requests are cheap), so successive ones are spread over the loops.
func (e *engine) nextOwner() *loop { return e.loops[len(e.addrs)%len(e.loops)] }

// watch makes l watch a special fd.
func (l *loop) watch(fd int, addr net.Addr, s specialFD, interest poller.Event) error {
	if err := l.poller.Add(fd, interest); err != nil {
		return err
	}
	l.listeners[fd] = &listener{fd: fd, addr: addr, special: s}
	return nil
}

// unwatch stops watching a special fd without closing it.
func (l *loop) unwatch(fd int) {
	l.poller.Remove(fd)
	delete(l.listeners, fd)
}

// ForgetFd makes the loop forget a fd that a conn is about to close on its
// own: the write end of a FIFO pair after ShutdownWrite. The poller must
// not watch a closed fd (poll(2) would report it invalid on every wait), and
// the conn table must not route the fd's next owner to the old conn.
func (l *loop) ForgetFd(fd int) {
	l.poller.Remove(fd)
	l.conns.set(fd, nil)
}
