package reactor_test

// Shared helpers of the transport tests (udp_test.go, dial_test.go,
// fifo_test.go, activation_test.go, signals_test.go).

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

// tpBound bounds every wait of the transport tests.
const tpBound = 10 * time.Second

// tpClose is one OnClose.
type tpClose struct {
	c   conn.Conn
	err error
}

// tpHandler echoes by default and reports opens and closes on channels.
type tpHandler struct {
	reactor.BaseHandler
	opened    chan conn.Conn
	closed    chan tpClose
	onOpen    func(c conn.Conn) reactor.Action
	onTraffic func(c conn.Conn) reactor.Action

	mu     sync.Mutex
	opens  map[conn.Conn]int
	closes map[conn.Conn]int
}

func newTPHandler() *tpHandler {
	return &tpHandler{
		opened: make(chan conn.Conn, 4096),
		closed: make(chan tpClose, 4096),
		opens:  map[conn.Conn]int{},
		closes: map[conn.Conn]int{},
	}
}

func (h *tpHandler) OnOpen(c conn.Conn) reactor.Action {
	h.mu.Lock()
	h.opens[c]++
	h.mu.Unlock()
	h.opened <- c
	if h.onOpen != nil {
		return h.onOpen(c)
	}
	return reactor.None
}

func (h *tpHandler) OnTraffic(c conn.Conn) reactor.Action {
	if h.onTraffic != nil {
		return h.onTraffic(c)
	}
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (h *tpHandler) OnClose(c conn.Conn, err error) {
	h.mu.Lock()
	h.closes[c]++
	h.mu.Unlock()
	h.closed <- tpClose{c, err}
}

// nextOpen waits for the next OnOpen.
func (h *tpHandler) nextOpen(t *testing.T) conn.Conn {
	t.Helper()
	select {
	case c := <-h.opened:
		return c
	case <-time.After(tpBound):
		t.Fatal("no OnOpen")
		return nil
	}
}

// nextClose waits for the next OnClose.
func (h *tpHandler) nextClose(t *testing.T) tpClose {
	t.Helper()
	select {
	case ev := <-h.closed:
		return ev
	case <-time.After(tpBound):
		t.Fatal("no OnClose")
		return tpClose{}
	}
}

// requireBalanced checks that every opened conn was closed exactly once.
func (h *tpHandler) requireBalanced(t *testing.T) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for c, n := range h.opens {
		require.Equal(t, 1, n, "OnOpen once per conn")
		require.Equal(t, 1, h.closes[c], "OnClose once per opened conn")
	}
}

// tpConfig is one engine configuration a transport test runs on.
type tpConfig struct {
	name string
	opts []reactor.Option
}

// tpPollers are the native configurations the transports run on.
var tpPollers = []tpConfig{
	{"epoll-2loops", []reactor.Option{reactor.WithPoller(poller.Epoll), reactor.WithLoops(2)}},
	{"poll-1loop", []reactor.Option{reactor.WithPoller(poller.Poll), reactor.WithLoops(1)}},
}

// tpStart starts an engine that the test stops (bounded) when it ends.
func tpStart(t *testing.T, h reactor.Handler, addrs []string, opts ...reactor.Option) reactor.Engine {
	t.Helper()
	opts = append([]reactor.Option{reactor.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	e, err := reactor.Start(h, addrs, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { tpStop(t, e) })
	return e
}

// tpStop stops e within tpBound.
func tpStop(t testing.TB, e reactor.Engine) error {
	ctx, cancel := context.WithTimeout(context.Background(), tpBound)
	defer cancel()
	return e.Stop(ctx)
}

// tpLog collects log records, to check what an engine reported.
type tpLog struct {
	seen chan string
}

func newTPLog() *tpLog { return &tpLog{seen: make(chan string, 1024)} }

func (l *tpLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *tpLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *tpLog) WithGroup(string) slog.Handler            { return l }
func (l *tpLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	select {
	case l.seen <- msg:
	default:
	}
	return nil
}

// waitLog waits for a record whose text contains want.
func (l *tpLog) waitLog(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(tpBound)
	for {
		select {
		case msg := <-l.seen:
			if strings.Contains(msg, want) {
				return msg
			}
		case <-deadline:
			t.Fatalf("no log record with %q", want)
			return ""
		}
	}
}

// tpFDs counts this process's open fds (-1 where /proc is missing).
func tpFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// requireFDsBackTo waits (bounded) for the fd count to fall back to before:
// Go's poller closes a client's files a moment after Close returns.
func requireFDsBackTo(t *testing.T, before int) {
	t.Helper()
	if before < 0 {
		return
	}
	deadline := time.Now().Add(tpBound)
	for tpFDs() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	require.LessOrEqual(t, tpFDs(), before, "fds leaked")
}
