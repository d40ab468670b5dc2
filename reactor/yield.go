package reactor

import "github.com/evloop/evloop/conn"

// Yielding a layer's conn (conn.LoopYielder) yields the loop of the conn
// under it, which is the layer's loop too; where that conn cannot yield
// (io_uring's), the layer's yield does nothing.

// yieldUnder yields raw's loop, if raw can.
func yieldUnder(raw conn.Conn) {
	if y, ok := raw.(conn.LoopYielder); ok {
		y.YieldLoop()
	}
}

// YieldLoop implements conn.LoopYielder.
func (c *tlsConn) YieldLoop() { yieldUnder(c.raw) }

// YieldLoop implements conn.LoopYielder.
func (pc *proxyConn) YieldLoop() { yieldUnder(pc.raw) }
