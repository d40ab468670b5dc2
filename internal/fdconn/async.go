//go:build unix

package fdconn

import "github.com/evloop/evloop/conn"

// The methods a handler may call from any goroutine: each hands its work to
// the loop through Post.

// AsyncWrite queues p for writing on the loop.
func (c *FD) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		_, err := c.Write(p)
		if done != nil {
			c.owner().AsyncDone(c, done, err)
		}
	})
}

// AsyncWritev queues bufs for writing on the loop.
func (c *FD) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		_, err := c.Writev(bufs)
		if done != nil {
			c.owner().AsyncDone(c, done, err)
		}
	})
}

// Wake makes the loop call OnTraffic for the conn.
func (c *FD) Wake() error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() {
		if !c.IsClosed() {
			c.owner().TrafficConn(c)
		}
	})
}

// Close closes the conn once its output is flushed.
func (c *FD) Close() error {
	if c.IsClosed() {
		return conn.ErrClosed
	}
	return c.owner().Post(func() { c.owner().CloseConn(c, nil) })
}

// RunOnLoop runs task on the conn's loop, also after the conn has closed,
// while the loop runs: how a layer reports something about a conn that
// became known only after its OnClose (a TLS dial's handshake verdict).
func (c *FD) RunOnLoop(task func()) error { return c.owner().Post(task) }
