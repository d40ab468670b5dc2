//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// Input that arrives while a conn's output is past the high watermark is
// held back from OnTraffic (gnet cannot stop reading, the native backend
// does), and handed over as native reads would hand it over.

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

const heldLow, heldHigh = 64 << 10, 256 << 10

// startHeld serves r with the held-input watermarks and small socket buffers
// (so that the kernel cannot take all of OnOpen's output), on gnet or, with
// native set, on the native backend. r's OnOpen writes 8×high, putting the
// conn past the watermark from the start. It returns the client conn, once
// opened, and the size of that output.
func startHeld(t *testing.T, r *recorder, native bool, opts ...reactor.Option) (net.Conn, int) {
	t.Helper()
	big := bytes.Repeat([]byte("o"), 8*heldHigh)
	r.onOpen = func(c conn.Conn) reactor.Action {
		c.Write(big)
		return reactor.None
	}
	opts = append([]reactor.Option{reactor.WithWriteWatermarks(heldLow, heldHigh), reactor.WithSocketBuffers(64<<10, 64<<10)}, opts...)
	var e reactor.Engine
	if native {
		var err error
		e, err = reactor.Start(r, []string{"tcp://127.0.0.1:0"}, append(opts, reactor.WithLoops(1), reactor.WithLogger(discardLogger()))...)
		require.NoError(t, err)
		t.Cleanup(func() { stop(t, e) })
	} else {
		e = start(t, r, []string{"tcp://127.0.0.1:0"}, opts...)
	}
	c := dial(t, e, 0)
	within(t, r.opened, "OnOpen")
	return c, len(big)
}

// readOutput reads OnOpen's output, bringing the conn back under low.
func readOutput(t *testing.T, c net.Conn, n int) {
	t.Helper()
	_, err := io.ReadFull(c, make([]byte, n))
	require.NoError(t, err)
}

// Held input reaches OnTraffic once the peer has read the output down to
// the low watermark.
func TestHeldInputIsDeliveredAfterDraining(t *testing.T) {
	r := newRecorder()
	got := make(chan string, 4)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		got <- string(b)
		return reactor.None
	}
	c, out := startHeld(t, r, false)
	_, err := c.Write([]byte("held"))
	require.NoError(t, err)
	select {
	case b := <-got:
		t.Fatalf("OnTraffic(%q) ran with output past the high watermark", b)
	case <-time.After(100 * time.Millisecond):
	}
	readOutput(t, c, out)
	require.Equal(t, "held", within(t, got, "OnTraffic after draining"))
}

// Held input is handed over a read's worth per OnTraffic, not all at once.
func TestHeldInputArrivesAReadAtATime(t *testing.T) {
	const readSize = 16 << 10
	input := bytes.Repeat([]byte("i"), 1<<20)
	r := newRecorder()
	sizes := make(chan int, 1024)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		sizes <- len(b)
		return reactor.None
	}
	c, out := startHeld(t, r, false, reactor.WithReadBufferSize(readSize))
	go c.Write(input) // held: output is past high
	readOutput(t, c, out)
	total := 0
	for total < len(input) {
		n := within(t, sizes, "OnTraffic")
		require.LessOrEqual(t, n, readSize, "bytes handed to one OnTraffic")
		total += n
	}
	require.Equal(t, len(input), total)
}

// A frame bigger than one read's worth, held back, reaches a handler that
// waits for whole frames: each OnTraffic shows what it kept and a read more,
// as native reads would, and OnTraffic runs again although the peer sends
// nothing more (it waits for its reply). The native backend is the
// reference.
func TestHeldFrameLargerThanARead(t *testing.T) {
	for _, native := range []bool{false, true} {
		name := map[bool]string{false: "gnet", true: "native"}[native]
		t.Run(name, func(t *testing.T) {
			frame := make([]byte, 4+200<<10)
			binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
			r := newRecorder()
			got := make(chan int, 4)
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
			c, out := startHeld(t, r, native)
			go c.Write(frame)
			readOutput(t, c, out)
			require.Equal(t, len(frame)-4, within(t, got, "the whole frame in OnTraffic"))
		})
	}
}

// Held input still reaches OnTraffic when the peer then half-closes: gnet
// closes at EOF, and OnTraffic runs first.
func TestHeldInputThenPeerEOF(t *testing.T) {
	r := newRecorder()
	got := make(chan string, 4)
	r.onTraffic = func(c conn.Conn) reactor.Action {
		b, _ := c.Next(-1)
		got <- string(b)
		return reactor.None
	}
	c, _ := startHeld(t, r, false)
	_, err := c.Write([]byte("SET k v\r\n"))
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the request, then the EOF: two events
	c.(*net.TCPConn).CloseWrite()
	within(t, r.closed, "OnClose")
	select {
	case b := <-got:
		require.Equal(t, "SET k v\r\n", b)
	default:
		t.Fatal("the request sent before the peer's EOF never reached OnTraffic")
	}
}
