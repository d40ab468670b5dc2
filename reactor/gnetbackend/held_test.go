//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// A frame bigger than one read's worth that arrived while output was past
// the high watermark reaches a handler that waits for whole frames: each
// OnTraffic shows what it kept and a read more, as native reads would, and
// OnTraffic runs again although the peer sends nothing more (it waits for
// its reply).
func TestHeldFrameLargerThanARead(t *testing.T) {
	const low, high = 64 << 10, 256 << 10
	big := bytes.Repeat([]byte("o"), 8*high)
	frame := make([]byte, 4+200<<10)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	r := newRecorder()
	got := make(chan int, 4)
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big) // past high: input is held back from here on
		return reactor.None
	}
	r.onTraffic = func(c conn.Conn) reactor.Action {
		hdr, err := c.Peek(4)
		if err != nil {
			return reactor.None
		}
		n := int(binary.BigEndian.Uint32(hdr))
		if c.InboundBuffered() < 4+n {
			return reactor.None // wait for the whole frame
		}
		c.Discard(4 + n)
		got <- n
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10))
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	go c.Write(frame)
	_, err := io.ReadFull(c, make([]byte, len(big)))
	require.NoError(t, err)
	require.Equal(t, len(frame)-4, within(t, got, "the whole frame in OnTraffic"))
}

// The same scenario on the native backend, for comparison.
func TestHeldFrameLargerThanAReadNative(t *testing.T) {
	const low, high = 64 << 10, 256 << 10
	big := bytes.Repeat([]byte("o"), 8*high)
	frame := make([]byte, 4+200<<10)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	r := newRecorder()
	got := make(chan int, 4)
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big)
		return reactor.None
	}
	r.onTraffic = func(c conn.Conn) reactor.Action {
		hdr, err := c.Peek(4)
		if err != nil {
			return reactor.None
		}
		n := int(binary.BigEndian.Uint32(hdr))
		if c.InboundBuffered() < 4+n {
			return reactor.None
		}
		c.Discard(4 + n)
		got <- n
		return reactor.None
	}
	e, err := reactor.Start(r, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithLogger(discardLogger()),
		reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10))
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, e) })
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	go c.Write(frame)
	_, err = io.ReadFull(c, make([]byte, len(big)))
	require.NoError(t, err)
	require.Equal(t, len(frame)-4, within(t, got, "the whole frame in OnTraffic"))
}

// Input held back above the high watermark still reaches OnTraffic when the
// peer then half-closes: gnet closes at EOF, and OnTraffic runs first.
func TestHeldInputThenPeerEOF(t *testing.T) {
	const low, high = 64 << 10, 256 << 10
	big := bytes.Repeat([]byte("o"), 8*high)
	r := newRecorder()
	got := make(chan string, 4)
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big)
		return reactor.None
	}
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		got <- string(b)
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithWriteWatermarks(low, high), reactor.WithSocketBuffers(64<<10, 64<<10))
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	_, err := c.Write([]byte("SET k v\r\n"))
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the request, then the EOF: two events
	c.(*net.TCPConn).CloseWrite()
	ev := within(t, r.closed, "OnClose")
	_ = ev
	select {
	case b := <-got:
		require.Equal(t, "SET k v\r\n", b)
	default:
		t.Fatal("the request sent before the peer's EOF never reached OnTraffic")
	}
}
