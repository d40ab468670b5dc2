package main

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/codec/resp"
	"github.com/evloop/evloop/conn"
)

// memConn is an in-memory conn.Conn for driving serve directly: inbound
// bytes are set by the test, outbound bytes collect in out.
type memConn struct {
	in  []byte
	out []byte
	ctx any
}

var _ conn.Conn = (*memConn)(nil)

func (m *memConn) Read(p []byte) (int, error) { n := copy(p, m.in); m.in = m.in[n:]; return n, nil }
func (m *memConn) Peek(n int) ([]byte, error) {
	if n < 0 {
		return m.in, nil
	}
	if n > len(m.in) {
		return m.in, io.ErrShortBuffer
	}
	return m.in[:n], nil
}
func (m *memConn) Next(n int) ([]byte, error) {
	b, err := m.Peek(n)
	if err == nil {
		m.in = m.in[len(b):]
	}
	return b, err
}
func (m *memConn) Discard(n int) (int, error) {
	if n < 0 || n > len(m.in) {
		n = len(m.in)
	}
	m.in = m.in[n:]
	return n, nil
}
func (m *memConn) InboundBuffered() int                           { return len(m.in) }
func (m *memConn) Write(p []byte) (int, error)                    { m.out = append(m.out, p...); return len(p), nil }
func (m *memConn) Writev(bufs [][]byte) (int, error)              { return 0, nil }
func (m *memConn) OutboundBuffered() int                          { return 0 }
func (m *memConn) ShutdownWrite() error                           { return nil }
func (m *memConn) SetIdleTimeout(time.Duration) error             { return nil }
func (m *memConn) Context() any                                   { return m.ctx }
func (m *memConn) SetContext(v any)                               { m.ctx = v }
func (m *memConn) AsyncWrite([]byte, conn.AsyncCallback) error    { return nil }
func (m *memConn) AsyncWritev([][]byte, conn.AsyncCallback) error { return nil }
func (m *memConn) Wake() error                                    { return nil }
func (m *memConn) Close() error                                   { return nil }
func (m *memConn) LocalAddr() net.Addr                            { return nil }
func (m *memConn) RemoteAddr() net.Addr                           { return nil }
func (m *memConn) Fd() int                                        { return -1 }

func newTestServer(t testing.TB) *server {
	s, err := newServer(resp.Config{}, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveBatch runs serve over wire and returns the replies.
func serveBatch(s *server, c *memConn, wire []byte) {
	c.in, c.out = wire, c.out[:0]
	s.serve(c)
}

func TestServeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	s := newTestServer(t)
	c := &memConn{}
	serveBatch(s, c, request("SET", "key", "value"))
	var get, ping []byte
	for i := 0; i < 16; i++ {
		get = append(get, request("GET", "key")...)
		get = append(get, request("GET", "missing")...)
		ping = append(ping, "PING\r\n"...)
	}
	for _, tc := range []struct {
		name string
		wire []byte
		want float64
	}{
		{"32 GETs", get, 0},
		{"16 inline PINGs", ping, 0},
		{"SET", request("SET", "key", "value"), 1}, // the stored copy of the value
		{"INCR", request("INCR", "n"), 1},          // the stored decimal string
	} {
		serveBatch(s, c, tc.wire)
		got := testing.AllocsPerRun(200, func() { serveBatch(s, c, tc.wire) })
		if got > tc.want {
			t.Errorf("%s: %v allocs per batch, want at most %v", tc.name, got, tc.want)
		}
	}
}

func benchmarkServe(b *testing.B, wire []byte) {
	s := newTestServer(b)
	c := &memConn{}
	serveBatch(s, c, request("SET", "key:000000000042", "xxx"))
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		serveBatch(s, c, wire)
	}
}

// The requests redis-benchmark -t get,set -P 16 sends.
func BenchmarkServeGetP16(b *testing.B) {
	var wire []byte
	for i := 0; i < 16; i++ {
		wire = append(wire, request("GET", "key:000000000042")...)
	}
	benchmarkServe(b, wire)
}

func BenchmarkServeSetP16(b *testing.B) {
	var wire []byte
	for i := 0; i < 16; i++ {
		wire = append(wire, request("SET", "key:000000000042", "xxx")...)
	}
	benchmarkServe(b, wire)
}

// The requests redis-benchmark -t ping_inline,get,set -P 1 sends: one per
// read, so each costs a whole serve (scratch, decode, run, one write).
func BenchmarkServePingInlineP1(b *testing.B) { benchmarkServe(b, []byte("PING\r\n")) }

func BenchmarkServeGetP1(b *testing.B) {
	benchmarkServe(b, request("GET", "key:000000000042"))
}

func BenchmarkServeSetP1(b *testing.B) {
	benchmarkServe(b, request("SET", "key:000000000042", "xxx"))
}

// redis-benchmark -t lpush,lpop -P 1: a push and a pop, one per serve.
func BenchmarkServeLpushLpopP1(b *testing.B) {
	s := newTestServer(b)
	c := &memConn{}
	push, pop := request("LPUSH", "mylist", "xxx"), request("LPOP", "mylist")
	b.ReportAllocs()
	for b.Loop() {
		serveBatch(s, c, push)
		serveBatch(s, c, pop)
	}
}

// TestServeResumesLongRequest: an MGET of 60,000 keys arriving in 64 KiB
// reads is answered once complete, and between reads the conn keeps a
// resp.Progress that says how far it was parsed, so that no read parses it
// again from its first argument.
func TestServeResumesLongRequest(t *testing.T) {
	s := newTestServer(t)
	const keys = 60_000 // under kv's default -maxargs (65,536)
	args := []string{"MGET"}
	for i := range keys {
		args = append(args, "k"+strconv.Itoa(i))
	}
	wire := request(args...)
	c := &memConn{}
	reads := 0
	for sent := 0; sent < len(wire); {
		next := min(sent+64<<10, len(wire))
		c.in = wire[sent-len(c.in) : next] // what is still buffered, and the new piece
		sent = next
		reads++
		s.serve(c)
		if sent < len(wire) {
			p, ok := c.ctx.(*resp.Progress)
			if !ok || !p.Pending() {
				t.Fatalf("read %d: no progress kept for the incomplete request (context %T)", reads, c.ctx)
			}
			if len(c.out) != 0 {
				t.Fatalf("read %d: answered an incomplete request", reads)
			}
		}
	}
	if reads < 10 {
		t.Fatalf("%d reads: the test needs many", reads)
	}
	want := "*" + strconv.Itoa(keys) + "\r\n" + strings.Repeat("$-1\r\n", keys)
	if string(c.out) != want {
		t.Fatalf("reply of %d bytes, want %d", len(c.out), len(want))
	}
	if len(c.in) != 0 || c.ctx.(*resp.Progress).Pending() {
		t.Fatal("request not consumed, or progress left behind")
	}
}
