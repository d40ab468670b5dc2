package reactor

import (
	"io"

	"github.com/evloop/evloop/internal/fdconn"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
)

// watcher serves one fd a loop polls. Every registered fd has one, in the
// loop's fd table, so that dispatch is one lookup: a socket conn
// (connWatcher), either half of a FIFO pair (fifoPair), or an endpoint.
type watcher interface {
	// ready handles readiness of fd, on the loop goroutine.
	ready(fd int, ev poller.Event)
}

// endpoint is a watcher that is not a conn: a listening socket
// (listener.go), a UDP socket (udp.go), a FIFO's request pipe (fifo.go), a
// connect in progress (dial.go). Stopping the loop closes it.
type endpoint interface {
	watcher
	// close releases the fd and whatever hangs off it. The loop has
	// already removed the fd from its poller and its table.
	close()
}

// connWatcher is a socket conn as its loop watches it: the same memory as
// the conn, so watching a conn costs no allocation.
type connWatcher fdconn.FD

// watcherOf is c's watcher: FIFO pairs follow their own rules (fifo.go).
func watcherOf(c *fdconn.FD) watcher {
	if c.IsPair() {
		return (*fifoPair)(c)
	}
	return (*connWatcher)(c)
}

// connOf is the conn a watcher serves, or nil for an endpoint.
func connOf(w watcher) *fdconn.FD {
	switch w := w.(type) {
	case *connWatcher:
		return (*fdconn.FD)(w)
	case *fifoPair:
		return (*fdconn.FD)(w)
	}
	return nil
}

// loopOf is the loop that owns c.
func loopOf(c *fdconn.FD) *loop { return c.Owner().(*loop) }

const (
	readEvents = poller.Readable | poller.Hangup | poller.Error | poller.ReadHangup
	endEvents  = poller.Hangup | poller.Error
)

// ready implements watcher: read, then flush; a hangup with nothing to
// read or write is torn down at once, or the level-triggered loop would
// spin on it.
func (w *connWatcher) ready(fd int, ev poller.Event) {
	c := (*fdconn.FD)(w)
	l := loopOf(c)
	if ev&readEvents != 0 && (c.WantsRead() || ev&endEvents == 0) {
		l.read(c)
	}
	if c.IsClosed() {
		return
	}
	if c.OutboundBuffered() > 0 && ev&(poller.Writable|endEvents) != 0 {
		l.flush(c)
		return
	}
	if ev&endEvents != 0 && !c.WantsRead() {
		l.teardown(c, hangupCause(fd))
	}
}

// watch makes l poll fd for interest and serve it with w.
func (l *loop) watch(fd int, w watcher, interest poller.Event) error {
	if err := l.poller.Add(fd, interest); err != nil {
		return err
	}
	l.watchers.set(fd, w)
	l.fresh = append(l.fresh, fd)
	return nil
}

// unwatch stops polling fd without closing it.
func (l *loop) unwatch(fd int) {
	l.poller.Remove(fd)
	l.watchers.set(fd, nil)
}

// ForgetFd implements fdconn.Owner: a conn is about to close fd on its own
// (the write end of a FIFO pair after ShutdownWrite). The poller must not
// watch a closed fd (poll(2) would report it invalid on every wait), and
// the table must not route the fd's next owner to the old conn.
func (l *loop) ForgetFd(fd int) { l.unwatch(fd) }

// SetInterest implements fdconn.Owner.
func (l *loop) SetInterest(fd int, read, write bool) error {
	var ev poller.Event
	if read {
		ev |= poller.Readable
	}
	if write {
		ev |= poller.Writable
	}
	if p, ok := l.watchers.get(fd).(*fifoPair); ok {
		return p.setInterest(l, fd, ev)
	}
	return l.poller.Modify(fd, ev)
}

// registeredThisBatch tells whether fd was registered during the current
// batch of events: a later event of the same batch for that fd number was
// meant for the watcher that held it before. The list is almost always
// empty.
func (l *loop) registeredThisBatch(fd int) bool {
	for _, f := range l.fresh {
		if f == fd {
			return true
		}
	}
	return false
}

// dispatch hands one ready fd to its watcher.
func (l *loop) dispatch(fd int, ev poller.Event) {
	l.refreshClock()
	w := l.watchers.get(fd)
	if w == nil {
		return // closed earlier in this batch: nothing owns it now
	}
	if l.registeredThisBatch(fd) {
		// The event is for the fd number's previous owner. Level
		// triggering reports the new one's own readiness on the next Wait.
		return
	}
	w.ready(fd, ev)
}

// closeEndpoints closes every endpoint of the loop: its listeners, UDP
// sockets, FIFO request pipes and pending dials.
func (l *loop) closeEndpoints() {
	l.watchers.each(func(fd int, w watcher) {
		if ep, ok := w.(endpoint); ok {
			l.unwatch(fd)
			ep.close()
		}
	})
}

// hangupCause is the OnClose cause of a conn that hung up with nothing left
// to read or write: its socket error, or an unexpected EOF.
func hangupCause(fd int) error {
	if err := socket.HangupCause(fd); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
