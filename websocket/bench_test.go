package websocket

import (
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/conn"
)

// sinkConn is a conn.Conn that takes every write at once: the benchmarks
// below measure the WebSocket work, not a socket's.
type sinkConn struct {
	conn.Conn // nil: the methods a benchmark does not reach
	written   int
}

func (s *sinkConn) Write(p []byte) (int, error) { s.written += len(p); return len(p), nil }
func (s *sinkConn) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	s.written += n
	return n, nil
}
func (s *sinkConn) OutboundBuffered() int                { return 0 }
func (s *sinkConn) SetIdleTimeout(d time.Duration) error { return nil }

// openConns returns n open server conns over sinks, with
// permessage-deflate (no context takeover, as browsers are usually
// answered) when deflate is set.
func openConns(n int, deflate bool) []*Conn {
	o := Options{}
	if deflate {
		o.Compression = &Compression{}
	}
	o = o.withDefaults()
	conns := make([]*Conn, n)
	for i := range conns {
		c := newConn(&sinkConn{}, &endpoint{h: BaseHandler{}, o: &o}, true)
		c.state = stateOpen
		if deflate {
			c.setDeflate(&DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true})
		}
		conns[i] = c
	}
	return conns
}

// BenchmarkBroadcast sends a 1 KiB message to 1,000 conns: prepared
// (framed, and compressed, once per message) against written to each
// conn (framed and compressed per conn). ns/op and allocs/op are per
// message to all 1,000.
func BenchmarkBroadcast(b *testing.B) {
	msg := []byte(strings.Repeat("a broadcast line to every member of the room; ", 30)[:1024])
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate"
		}
		conns := openConns(1000, deflate)
		b.Run(name+"/prepared", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				pm, _ := NewPreparedMessage(OpText, msg)
				for _, c := range conns {
					c.WritePrepared(pm)
				}
			}
		})
		b.Run(name+"/per-conn", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, c := range conns {
					c.WriteMessage(OpText, msg)
				}
			}
		})
	}
}
