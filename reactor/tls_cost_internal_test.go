package reactor

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What a TLS conn costs, on fake or in-memory conns: time and bytes per
// echo, per handshake, per idle conn.

// BenchmarkTLSEchoSteadyState measures one 1 KiB message over an
// established TLS conn, out and echoed back: client encrypt, server decrypt,
// echo, server encrypt, client decrypt, all on the benchmark's goroutine.
// "crypto/tls" runs the same four steps on bare tls.Conns, to show what
// crypto/tls itself allocates.
func BenchmarkTLSEchoSteadyState(b *testing.B) {
	msg := bytes.Repeat([]byte("m"), 1024)
	b.Run("layer", func(b *testing.B) {
		cli := &collector{}
		p := newFakePair(b, cli, echoer{})
		p.runUntil(b, func() bool { return cli.opened })
		// Settle: tickets and the first records.
		cli.conn.Write(msg)
		p.runUntil(b, func() bool { return len(cli.got) == len(msg) })
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		for range b.N {
			cli.got = cli.got[:0]
			cli.conn.Write(msg)
			p.pump()
			if len(cli.got) != len(msg) {
				b.Fatalf("echo: %d bytes", len(cli.got))
			}
		}
	})
	b.Run("crypto/tls", func(b *testing.B) {
		c2s, s2c := &memPipe{}, &memPipe{}
		srvCfg, cliCfg := internalConfigs(b)
		client := tls.Client(&memConn{r: s2c, w: c2s}, cliCfg)
		server := tls.Server(&memConn{r: c2s, w: s2c}, srvCfg)
		done := make(chan error, 1)
		go func() { done <- server.Handshake() }()
		require.NoError(b, client.Handshake())
		require.NoError(b, <-done)
		buf := make([]byte, 4096)
		roundTrip := func() {
			client.Write(msg)
			n, _ := server.Read(buf)
			server.Write(buf[:n])
			n, _ = client.Read(buf)
			if n != len(msg) {
				b.Fatalf("echo: %d bytes", n)
			}
		}
		roundTrip()
		b.ReportAllocs()
		b.SetBytes(int64(len(msg)))
		b.ResetTimer()
		for range b.N {
			roundTrip()
		}
	})
}

// memPipe is an in-memory byte stream whose Read blocks until there are
// bytes.
type memPipe struct {
	mu   sync.Mutex
	cond *sync.Cond
	buf  []byte
}

func (m *memPipe) Read(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cond == nil {
		m.cond = sync.NewCond(&m.mu)
	}
	for len(m.buf) == 0 {
		m.cond.Wait()
	}
	n := copy(p, m.buf)
	m.buf = m.buf[:copy(m.buf, m.buf[n:])]
	return n, nil
}

func (m *memPipe) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cond == nil {
		m.cond = sync.NewCond(&m.mu)
	}
	m.buf = append(m.buf, p...)
	m.cond.Broadcast()
	return len(p), nil
}

// memConn is a net.Conn over two memPipes.
type memConn struct{ r, w *memPipe }

func (c *memConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *memConn) Write(p []byte) (int, error)      { return c.w.Write(p) }
func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

var _ io.ReadWriter = (*memConn)(nil)

// BenchmarkTLSHandshake measures one handshake through a client layer and a
// server layer (both sides' work, one handshake goroutine each); "crypto/tls"
// is the same handshake between bare tls.Conns over memory pipes.
func BenchmarkTLSHandshake(b *testing.B) {
	b.Run("layer", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			cli, srv := &collector{}, &collector{}
			p := newFakePair(b, cli, srv)
			p.runUntil(b, func() bool { return cli.opened && srv.opened })
		}
	})
	b.Run("crypto/tls", func(b *testing.B) {
		srvCfg, cliCfg := internalConfigs(b)
		b.ReportAllocs()
		for range b.N {
			c2s, s2c := &memPipe{}, &memPipe{}
			client := tls.Client(&memConn{r: s2c, w: c2s}, cliCfg)
			server := tls.Server(&memConn{r: c2s, w: s2c}, srvCfg)
			done := make(chan error, 1)
			go func() { done <- server.Handshake() }()
			require.NoError(b, client.Handshake())
			require.NoError(b, <-done)
		}
	})
}

// BenchmarkTLSIdleConn reports the heap an established, idle TLS conn
// holds on the server side: the layer's conn and crypto/tls's (the raw
// conn's own cost comes on top, as for a plaintext conn), after one byte
// echoed (as bench/tlsbench's idle scenario) and after 1 KiB (crypto/tls
// keeps a record buffer as large as the largest record read, plus 512
// bytes).
func BenchmarkTLSIdleConn(b *testing.B) {
	for _, size := range []int{1, 1024} {
		b.Run(fmt.Sprintf("echoed=%d", size), func(b *testing.B) {
			for range b.N {
				b.ReportMetric(idleServerHeap(b, 200, size), "B/conn")
			}
		})
	}
}

// maxIdleTLSConnHeap bounds the server-side heap of an idle TLS conn (one
// byte echoed) as idleServerHeap measures it: 4.8 KiB with Go 1.26 and
// AES-GCM (crypto/tls's tls.Conn, two AES-GCM states and its exporter's
// key schedule are most of it; the harness adds a TLSLayer and a
// tls.Config per conn), 7.7 KiB without releaseTLSInput.
const maxIdleTLSConnHeap = 6 << 10

// TestTLSIdleConnHeap holds the heap of an idle TLS conn to
// maxIdleTLSConnHeap, so that it cannot grow unnoticed: a buffer kept
// while idle, handshake state kept after the handshake, or a Go release
// whose crypto/tls releaseTLSInput no longer finds its way around.
func TestTLSIdleConnHeap(t *testing.T) {
	require.True(t, tlsInput.ok, "releaseTLSInput does not know this Go release's crypto/tls.Conn: see tlstrim.go")
	per := idleServerHeap(t, 200, 1)
	t.Logf("%.0f bytes of heap per idle TLS conn", per)
	require.Less(t, per, float64(maxIdleTLSConnHeap))
}

// idleServerHeap opens n TLS conns over fake pairs, echoes size bytes on
// each, drops the client sides and returns the heap each server side
// holds.
func idleServerHeap(t testing.TB, n, size int) float64 {
	msg := bytes.Repeat([]byte("i"), size)
	var after runtime.MemStats
	pairs := make([]*fakePair, n)
	clients := make([]*collector, n)
	for i := range pairs {
		clients[i] = &collector{}
		pairs[i] = newFakePair(t, clients[i], echoer{})
	}
	for i, p := range pairs {
		p.runUntil(t, func() bool { return clients[i].opened })
		clients[i].conn.Write(msg)
		p.runUntil(t, func() bool { return len(clients[i].got) == len(msg) })
		// The handshake goroutines are done with the raw conns.
		p.runUntil(t, func() bool { return p.srv.nilWrites > 0 && p.cli.nilWrites > 0 })
	}
	// Drop the client sides and the harness's buffers; what stays is
	// the server sides (and a TLSLayer and tls.Config per conn, which
	// a real server shares: a few hundred bytes too many).
	for i, p := range pairs {
		p.cli, p.loop = nil, nil
		p.srv.loop, p.srv.in, p.srv.inBuf, p.srv.out, p.srv.spare = nil, nil, nil, nil, nil
		clients[i] = nil
	}
	// Twice, so that pooled buffers (sync.Pool keeps them for a cycle)
	// are gone from both readings.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	serverHeap := after.HeapAlloc
	for i := range pairs {
		pairs[i] = nil
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(int64(serverHeap)-int64(after.HeapAlloc)) / float64(n)
}

// TestTLSEchoAllocs: an echo over an established conn allocates no more
// than crypto/tls does on its own for the same four steps (one small
// allocation per record read: crypto/tls's atLeastReader).
func TestTLSEchoAllocs(t *testing.T) {
	msg := bytes.Repeat([]byte("m"), 1024)
	cli := &collector{}
	p := newFakePair(t, cli, echoer{})
	p.runUntil(t, func() bool { return cli.opened })
	cli.conn.Write(msg)
	p.runUntil(t, func() bool { return len(cli.got) == len(msg) })
	layer := testing.AllocsPerRun(200, func() {
		cli.got = cli.got[:0]
		cli.conn.Write(msg)
		p.pump()
		if len(cli.got) != len(msg) {
			t.Fatalf("echo: %d bytes", len(cli.got))
		}
	})

	c2s, s2c := &memPipe{}, &memPipe{}
	srvCfg, cliCfg := internalConfigs(t)
	client := tls.Client(&memConn{r: s2c, w: c2s}, cliCfg)
	server := tls.Server(&memConn{r: c2s, w: s2c}, srvCfg)
	done := make(chan error, 1)
	go func() { done <- server.Handshake() }()
	require.NoError(t, client.Handshake())
	require.NoError(t, <-done)
	buf := make([]byte, 4096)
	roundTrip := func() {
		client.Write(msg)
		n, _ := server.Read(buf)
		server.Write(buf[:n])
		if n, _ = client.Read(buf); n != len(msg) {
			t.Fatalf("echo: %d bytes", n)
		}
	}
	roundTrip()
	bare := testing.AllocsPerRun(200, roundTrip)
	t.Logf("allocs per echo: layer %.1f, crypto/tls %.1f", layer, bare)
	if !raceOn {
		require.LessOrEqual(t, layer, bare)
	}
}
