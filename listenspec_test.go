package evloop_test

// The seam for protocol layers: each listener's conns, and a dial's, are
// served by their own Handler; the root handler keeps OnBoot, OnTick and
// OnShutdown.

import (
	"io"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// tagged echoes what it reads behind its tag and reports each OnClose.
type tagged struct {
	reactor.BaseHandler
	tag            string
	opened, traffs atomic.Int32
	closed         chan error
	greet          []byte // written by OnOpen (the dial test's client side)
	got            chan []byte
}

func newTagged(tag string) *tagged {
	return &tagged{tag: tag, closed: make(chan error, 16), got: make(chan []byte, 16)}
}

func (h *tagged) OnOpen(c conn.Conn) reactor.Action {
	h.opened.Add(1)
	if h.greet != nil {
		c.Write(h.greet)
	}
	return reactor.None
}

func (h *tagged) OnTraffic(c conn.Conn) reactor.Action {
	h.traffs.Add(1)
	b, _ := c.Next(-1)
	if h.greet != nil {
		h.got <- append([]byte(nil), b...)
		return reactor.None
	}
	c.Write(append([]byte(h.tag), b...))
	return reactor.None
}

func (h *tagged) OnClose(_ conn.Conn, err error) { h.closed <- err }

// rootOnly counts the conn callbacks that must not reach it.
type rootOnly struct {
	reactor.BaseHandler
	boots, connCalls atomic.Int32
}

func (h *rootOnly) OnBoot(reactor.Engine) reactor.Action { h.boots.Add(1); return reactor.None }
func (h *rootOnly) OnOpen(conn.Conn) reactor.Action      { h.connCalls.Add(1); return reactor.None }
func (h *rootOnly) OnTraffic(c conn.Conn) reactor.Action {
	h.connCalls.Add(1)
	c.Discard(-1)
	return reactor.None
}
func (h *rootOnly) OnClose(conn.Conn, error) { h.connCalls.Add(1) }

func startSpecs(t *testing.T, root reactor.Handler, specs []reactor.ListenSpec, b backend) reactor.Engine {
	t.Helper()
	e, err := reactor.StartSpecs(root, specs, append([]reactor.Option{reactor.WithLogger(discardLogger())}, b.opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { stop(t, e) })
	return e
}

func waitErr(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	return nil
}

func TestListenersServeTheirOwnHandlers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root, tcpA, tcpB, unixC := &rootOnly{}, newTagged("A:"), newTagged("B:"), newTagged("C:")
		sock := filepath.Join(t.TempDir(), "c.sock")
		// Two TCP listeners on port 0 of one IP: the gnet backend tells
		// their conns apart by address, so the ports must differ.
		e := startSpecs(t, root, []reactor.ListenSpec{
			{Addr: reactor.Addr{Scheme: "tcp", Target: "127.0.0.1:0"}, Handler: tcpA},
			{Addr: reactor.Addr{Scheme: "tcp", Target: "127.0.0.1:0"}, Handler: tcpB},
			{Addr: reactor.Addr{Scheme: "unix", Target: sock}, Handler: unixC},
		}, b)
		require.Len(t, e.Addrs(), 3)
		for i, h := range []*tagged{tcpA, tcpB, unixC} {
			a := e.Addrs()[i]
			c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
			require.NoError(t, err)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = c.Write([]byte("x"))
			require.NoError(t, err)
			got := make([]byte, 3)
			_, err = io.ReadFull(c, got)
			require.NoError(t, err)
			require.Equal(t, h.tag+"x", string(got), "listener %d", i)
			c.Close()
			require.NoError(t, waitErr(t, h.closed, "OnClose of "+h.tag))
		}
		for _, h := range []*tagged{tcpA, tcpB, unixC} {
			require.EqualValues(t, 1, h.opened.Load(), h.tag)
			require.EqualValues(t, 1, h.traffs.Load(), h.tag)
		}
		require.EqualValues(t, 1, root.boots.Load())
		require.Zero(t, root.connCalls.Load(), "conn callbacks reached the root handler")
	})
}

// handlerDialer is how a layer dials with a handler of its own; both
// backends' engines implement it.
type handlerDialer interface {
	DialHandler(network, address string, h reactor.Handler) error
}

func TestDialServedByItsOwnHandler(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		root, server := &rootOnly{}, newTagged("S:")
		e := startSpecs(t, root, []reactor.ListenSpec{
			{Addr: reactor.Addr{Scheme: "tcp", Target: "127.0.0.1:0"}, Handler: server},
		}, b)
		hd, ok := e.(handlerDialer)
		require.True(t, ok, "%T has no DialHandler", e)
		client := newTagged("")
		client.greet = []byte("hi")
		require.NoError(t, hd.DialHandler("tcp", e.Addrs()[0].String(), client))
		select {
		case got := <-client.got:
			require.Equal(t, "S:hi", string(got))
		case <-time.After(10 * time.Second):
			t.Fatal("the dialed conn's handler got no reply")
		}
		// A failed dial reports to its own handler too.
		failed := newTagged("")
		require.NoError(t, hd.DialHandler("unix", filepath.Join(t.TempDir(), "nobody.sock"), failed))
		require.Error(t, waitErr(t, failed.closed, "the failed dial's OnClose"))
		require.Zero(t, failed.opened.Load())
		require.EqualValues(t, 1, root.boots.Load())
		require.Zero(t, root.connCalls.Load(), "conn callbacks reached the root handler")
	})
}

func TestAddressQuery(t *testing.T) {
	a, err := reactor.ParseAddr("tcp://127.0.0.1:7000?proxy=required")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:7000", a.Target)
	require.Equal(t, "required", a.Query.Get("proxy"))
	require.Equal(t, "tcp://127.0.0.1:7000?proxy=required", a.String())
	for _, bad := range []string{"tcp://127.0.0.1:7000?colour=red", "udp://127.0.0.1:0?proxy=required", "tcp://127.0.0.1:0?%zz", "fifo:///tmp/x?proxy=required"} {
		_, err := reactor.ParseAddr(bad)
		require.ErrorIs(t, err, reactor.ErrBadAddress, bad)
	}
	_, err = reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0?proxy=sometimes"})
	require.ErrorIs(t, err, reactor.ErrBadAddress)
}
