package reactor_test

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// lockedBuffer is a log sink the loops write while the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// identityEcho echoes and records whether OnClose got the conn OnOpen got.
type identityEcho struct {
	reactor.BaseHandler
	mu     sync.Mutex
	opened map[conn.Conn]bool
	same   chan bool
}

func (h *identityEcho) OnOpen(c conn.Conn) reactor.Action {
	h.mu.Lock()
	h.opened[c] = true
	h.mu.Unlock()
	return reactor.None
}

func (h *identityEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (h *identityEcho) OnClose(c conn.Conn, _ error) {
	h.mu.Lock()
	ok := h.opened[c]
	h.mu.Unlock()
	h.same <- ok
}

func TestDebugLogsConnsAsTheHandlerSeesThem(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := &identityEcho{opened: map[conn.Conn]bool{}, same: make(chan bool, 1)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0?proxy=required"}, reactor.WithLogger(log), reactor.WithLoops(1), reactor.WithProxy(reactor.WithProxyTrustAny()))
	require.NoError(t, err)
	defer tpStop(t, e)

	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), tpBound)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(tpBound))
	_, err = c.Write([]byte("PROXY TCP4 192.0.2.7 127.0.0.1 4242 7000\r\nhello"))
	require.NoError(t, err)
	got := make([]byte, 5)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "hello", string(got))
	c.Close()
	select {
	case same := <-h.same:
		require.True(t, same, "the handler's OnClose gets the conn its OnOpen got")
	case <-time.After(tpBound):
		t.Fatal("no OnClose")
	}
	require.Eventually(t, func() bool {
		return bytes.Contains([]byte(logs.String()), []byte(`msg="conn closed" remote=192.0.2.7:4242 cause=clean`))
	}, tpBound, 5*time.Millisecond, "logs: %s", logs.String())
	require.Contains(t, logs.String(), `msg="conn opened" remote=192.0.2.7:4242`)
}

func TestNoConnLogAboveDebug(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := &identityEcho{opened: map[conn.Conn]bool{}, same: make(chan bool, 1)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLogger(log), reactor.WithLoops(1))
	require.NoError(t, err)
	defer tpStop(t, e)
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), tpBound)
	require.NoError(t, err)
	c.Close()
	select {
	case <-h.same:
	case <-time.After(tpBound):
		t.Fatal("no OnClose")
	}
	require.NotContains(t, logs.String(), "conn opened")
}
