package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/codec/framed"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// TestMain checks that no test leaves a goroutine behind. gnet's package
// init starts an ants worker pool that lives as long as the process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}

// waitLimit bounds every wait in these tests.
const waitLimit = 15 * time.Second

// backends are the engines the in-process tests run on.
var backends = []struct {
	name string
	opts []reactor.Option
}{
	{"native", nil},
	{"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New())}},
	{"uring", []reactor.Option{reactor.WithBackend(uringbackend.New())}},
}

// forEachBackend runs fn as a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, opts []reactor.Option)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.opts) })
	}
}

// closeEvent is one OnClose the server saw.
type closeEvent struct {
	remote string
	err    error
}

// recordingRoom is a room that reports every OnClose, with the cause the
// codec adapter passes on (a decode error where the engine saw none).
type recordingRoom struct {
	*room
	closed chan closeEvent
}

func (r recordingRoom) OnClose(c conn.Conn, err error) {
	r.room.OnClose(c, err)
	select {
	case r.closed <- closeEvent{c.RemoteAddr().String(), err}:
	default:
	}
}

// server is a chat room on an engine with two loops, on a loopback port.
type server struct {
	eng    reactor.Engine
	room   *room
	addr   string
	closed chan closeEvent
}

// startServer starts a room with cfg and stops it when the test ends.
func startServer(t *testing.T, cfg config, opts ...reactor.Option) *server {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	r := newRoom(cfg)
	rec := recordingRoom{room: r, closed: make(chan closeEvent, 1024)}
	h := &handler{Adapter: framed.New(rec, codec.NewLine(r.cfg.MaxLine)), room: r} // as newHandler does
	all := append([]reactor.Option{reactor.WithLoops(2), reactor.WithLogger(cfg.Logger)}, opts...)
	eng, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, all...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		require.NoError(t, eng.Stop(ctx))
	})
	return &server{eng: eng, room: r, addr: eng.Addrs()[0].String(), closed: rec.closed}
}

// waitClose waits for the server's OnClose of the conn whose local address
// is remote, and returns its error.
func (s *server) waitClose(t *testing.T, remote string) error {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case ev := <-s.closed:
			if ev.remote == remote {
				return ev.err
			}
		case <-timeout:
			require.FailNow(t, "no OnClose for "+remote)
		}
	}
}

// client is a chat client over a real socket.
type client struct {
	t    *testing.T
	conn net.Conn
	in   *bufio.Reader
}

// dial connects to addr; rcvbuf > 0 sets SO_RCVBUF before the connect, so
// that the window the client advertises stays that small.
func dial(t *testing.T, addr string, rcvbuf int) *client {
	t.Helper()
	d := net.Dialer{Timeout: waitLimit}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			return errors.Join(err, serr)
		}
	}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, in: bufio.NewReader(c)}
}

// send writes each line with a "\n".
func (c *client) send(lines ...string) {
	c.t.Helper()
	c.write(strings.Join(lines, "\n") + "\n")
}

// write writes s as it is.
func (c *client) write(s string) {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetWriteDeadline(time.Now().Add(waitLimit)))
	_, err := io.WriteString(c.conn, s)
	require.NoError(c.t, err)
}

// line reads the next line, without its "\n".
func (c *client) line() string {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(waitLimit)))
	s, err := c.in.ReadString('\n')
	require.NoError(c.t, err, "read so far: %q", s)
	return strings.TrimSuffix(s, "\n")
}

// expect reads one line per element of want and compares them.
func (c *client) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		require.Equal(c.t, w, c.line())
	}
}

// expectEOF reads the end of the stream (the server closed the conn), then
// closes the client's side.
func (c *client) expectEOF() {
	c.t.Helper()
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(waitLimit)))
	s, err := c.in.ReadString('\n')
	require.ErrorIs(c.t, err, io.EOF, "read instead: %q", s)
	require.Empty(c.t, s)
	c.conn.Close()
}

// greeted reads what the server says on connect.
func (c *client) greeted() {
	c.t.Helper()
	c.expect("* welcome to evloop chat", "* choose a nick:")
}

// join connects as nick, with n members already in the room.
func join(t *testing.T, addr, nick string, n int) *client {
	t.Helper()
	c := dial(t, addr, 0)
	c.greeted()
	c.send(nick)
	c.joined(nick, n)
	return c
}

// joined reads the welcome a member gets on choosing nick, with n others
// already in the room.
func (c *client) joined(nick string, n int) {
	c.t.Helper()
	require.Equal(c.t, "* hello "+nick+"; "+strconv.Itoa(n+1)+" here (/who lists them)", c.line())
	c.expect(strings.TrimSuffix(helpLine, "\n"))
}
