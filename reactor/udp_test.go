package reactor_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestUDPBurstsFromManySenders: every datagram of a burst from each of many
// senders reaches OnTraffic with its sender as RemoteAddr, and the reply
// (Write) goes back to that sender.
func TestUDPBurstsFromManySenders(t *testing.T) {
	configs := append(slices.Clone(tpPollers),
		tpConfig{"reuseport-2loops", []reactor.Option{reactor.WithReusePort(true), reactor.WithLoops(2)}})
	for _, p := range configs {
		t.Run(p.name, func(t *testing.T) {
			const senders, burst = 32, 128
			before := tpFDs()
			h := newTPHandler()
			var mu sync.Mutex
			seen := map[string]int{} // sender address -> datagrams
			h.onTraffic = func(c conn.Conn) reactor.Action {
				mu.Lock()
				seen[c.RemoteAddr().String()]++
				mu.Unlock()
				b, _ := c.Next(-1)
				c.Write(b)
				return reactor.None
			}
			e := tpStart(t, h, []string{"udp://127.0.0.1:0"}, p.opts...)
			addr := e.Addrs()[0]
			require.Equal(t, "udp", addr.Network())
			require.Equal(t, "udp://"+addr.String(), addr.Network()+"://"+addr.String())

			// All sockets stay open until every burst is done, so no two
			// senders share a port.
			conns := make([]*net.UDPConn, senders)
			for i := range conns {
				c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
				require.NoError(t, err)
				conns[i] = c
			}
			var wg sync.WaitGroup
			errs := make(chan error, senders)
			for i, c := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- udpBurst(c, i, burst)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for _, c := range conns {
				c.Close()
			}
			require.Equal(t, 0, e.Conns())
			require.NoError(t, tpStop(t, e)) // no handler runs after this
			mu.Lock()
			defer mu.Unlock()
			for _, c := range conns {
				local := c.LocalAddr().String()
				require.Equal(t, burst, seen[local], "every datagram of %s reached OnTraffic", local)
			}
			require.Len(t, seen, senders)
			select {
			case <-h.opened:
				t.Fatal("OnOpen is not called for datagrams")
			default:
			}
			requireFDsBackTo(t, before)
		})
	}
}

// udpBurst sends a burst of datagrams from one socket, then reads every
// echo back.
func udpBurst(c *net.UDPConn, id, burst int) error {
	c.SetDeadline(time.Now().Add(tpBound))
	want := map[string]bool{}
	for j := 0; j < burst; j++ {
		msg := fmt.Sprintf("sender %d datagram %d", id, j)
		want[msg] = true
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
	}
	buf := make([]byte, 2048)
	for len(want) > 0 {
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("sender %d: %d echoes missing: %w", id, len(want), err)
		}
		if !want[string(buf[:n])] {
			return fmt.Errorf("sender %d: unexpected echo %q", id, buf[:n])
		}
		delete(want, string(buf[:n]))
	}
	return nil
}

// TestUDPPacketConn covers what a datagram conn does besides echoing:
// WriteTo another peer, AsyncWrite from another goroutine, Writev as one
// datagram, and the calls that make no sense for datagrams.
func TestUDPPacketConn(t *testing.T) {
	other, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer other.Close()

	h := newTPHandler()
	async := make(chan error, 1)
	h.onTraffic = func(c conn.Conn) reactor.Action {
		pc := c.(reactor.PacketConn)
		msg, _ := c.Next(-1)
		switch string(msg) {
		case "forward":
			pc.WriteTo([]byte("forwarded"), other.LocalAddr())
		case "async":
			go func() {
				async <- c.AsyncWrite([]byte("async reply"), nil)
			}()
		case "writev":
			c.Writev([][]byte{[]byte("wr"), []byte("it"), []byte("ev")})
		case "checks":
			ok := errors.Is(c.ShutdownWrite(), reactor.ErrUnsupported) &&
				errors.Is(c.SetIdleTimeout(time.Second), reactor.ErrUnsupported) &&
				c.Close() == nil && c.LocalAddr() != nil
			c.Write([]byte(fmt.Sprint(ok)))
			return reactor.Close // does nothing for a datagram socket
		case "left":
			// Leave bytes unconsumed: dropped with the datagram.
			return reactor.None
		}
		return reactor.None
	}
	e := tpStart(t, h, []string{"udp4://127.0.0.1:0"}, reactor.WithLoops(1))
	c, err := net.DialUDP("udp", nil, e.Addrs()[0].(*net.UDPAddr))
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(tpBound))
	other.SetDeadline(time.Now().Add(tpBound))
	buf := make([]byte, 64)
	roundTrip := func(send, want string) {
		t.Helper()
		_, err := c.Write([]byte(send))
		require.NoError(t, err)
		n, err := c.Read(buf)
		require.NoError(t, err)
		require.Equal(t, want, string(buf[:n]))
	}

	_, err = c.Write([]byte("forward"))
	require.NoError(t, err)
	n, err := other.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "forwarded", string(buf[:n]))

	// Unconsumed bytes go with their datagram: the next one arrives alone.
	_, err = c.Write([]byte("left"))
	require.NoError(t, err)
	roundTrip("async", "async reply")
	require.NoError(t, <-async)
	roundTrip("writev", "writev")
	roundTrip("checks", "true")
	roundTrip("checks", "true") // the socket survived the Close action
}

// BenchmarkUDPEcho measures one datagram round trip through the loop. A run
// of datagrams from one sender allocates nothing on the server side.
func BenchmarkUDPEcho(b *testing.B) {
	e, err := reactor.Start(newTPHandler(), []string{"udp://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(b, err)
	defer tpStop(b, e)
	c, err := net.DialUDP("udp", nil, e.Addrs()[0].(*net.UDPAddr))
	require.NoError(b, err)
	defer c.Close()
	msg := []byte("0123456789abcdef0123456789abcdef")
	buf := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for i := 0; i < b.N; i++ {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUDP6AndDualStack: udp6 serves IPv6 senders; a udp:// socket bound to
// the IPv6 wildcard also serves IPv4 senders (dual stack), replying to their
// IPv4-mapped addresses.
func TestUDP6AndDualStack(t *testing.T) {
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip("no IPv6 loopback here")
	}
	probe.Close()
	e := tpStart(t, newTPHandler(), []string{"udp6://[::1]:0", "udp://[::]:0"}, reactor.WithLoops(2))
	_, port, err := net.SplitHostPort(e.Addrs()[1].String())
	require.NoError(t, err)
	for _, target := range []string{e.Addrs()[0].String(), "127.0.0.1:" + port, "[::1]:" + port} {
		c, err := net.Dial("udp", target)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(tpBound))
		_, err = c.Write([]byte(target))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err, target)
		require.Equal(t, target, string(buf[:n]))
		c.Close()
	}
}

// peekUDP reports what Peek past the datagram returns.
type peekUDP struct {
	reactor.BaseHandler
	got chan []byte
}

func (h *peekUDP) OnTraffic(c conn.Conn) reactor.Action {
	if b, err := c.Peek(100); errors.Is(err, io.ErrShortBuffer) {
		h.got <- append([]byte(nil), b...)
	}
	return reactor.None
}

// conn.Conn's Peek past the buffer returns what there is, for UDP too.
func TestUDPPeekPastTheDatagram(t *testing.T) {
	h := &peekUDP{got: make(chan []byte, 1)}
	e, err := reactor.Start(h, []string{"udp://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(t, err)
	defer e.Stop(context.Background())
	c, err := net.Dial("udp", e.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	for {
		_, err = c.Write([]byte("hello"))
		require.NoError(t, err)
		select {
		case b := <-h.got:
			require.Equal(t, "hello", string(b))
			return
		case <-time.After(time.Second): // a datagram lost on loopback: send again
		}
	}
}
