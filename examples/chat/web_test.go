package main

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// webServer is a room with its nc address and its page and /ws address.
type webServer struct {
	eng      reactor.Engine
	clients  reactor.Engine // where the test's browsers dial from: stopping eng leaves them be
	ncAddr   string
	httpAddr string
	tls      bool
}

// startWeb starts a room serving nc on tcp and the page on scheme
// (tcp or tls), and stops it when the test ends.
func startWeb(t *testing.T, scheme string, opts ...reactor.Option) *webServer {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	r := newRoom(config{Logger: logger})
	all := append([]reactor.Option{reactor.WithLoops(2), reactor.WithLogger(logger)}, opts...)
	if scheme == "tls" {
		cert, err := selfsigned.New()
		require.NoError(t, err)
		all = append(all, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
			reactor.WithDialTLS(&tls.Config{InsecureSkipVerify: true}))
	}
	eng, _, err := start(r, []string{"tcp://127.0.0.1:0", scheme + "://127.0.0.1:0"}, all...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		eng.Stop(ctx)
		<-eng.Done()
	})
	clients, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp://127.0.0.1:0"}, all...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		clients.Stop(ctx)
		<-clients.Done()
	})
	return &webServer{eng: eng, clients: clients, ncAddr: eng.Addrs()[0].String(), httpAddr: eng.Addrs()[1].String(), tls: scheme == "tls"}
}

func (s *webServer) url(scheme, path string) string {
	if s.tls {
		scheme += "s"
	}
	return scheme + "://" + s.httpAddr + path
}

// browser is a WebSocket member, on our own client.
type browser struct {
	t      *testing.T
	conn   chan *websocket.Conn
	msgs   chan string
	closed chan error
}

func (b *browser) OnOpen(c *websocket.Conn) { b.conn <- c }
func (b *browser) OnMessage(_ *websocket.Conn, _ websocket.Opcode, data []byte) {
	b.msgs <- string(data)
}
func (b *browser) OnClose(_ *websocket.Conn, err error) { b.closed <- err }

// dialBrowser joins the room over WebSocket with extra header fields.
func (s *webServer) dialBrowser(t *testing.T, header map[string][]string) (*browser, *websocket.Conn) {
	t.Helper()
	b := &browser{t: t, conn: make(chan *websocket.Conn, 1), msgs: make(chan string, 64), closed: make(chan error, 1)}
	opts := websocket.DialOptions{Header: header, Options: websocket.Options{Policy: websocket.Policy{Compression: &websocket.Compression{}}}}
	require.NoError(t, websocket.Dial(s.clients, s.url("ws", "/ws"), b, opts))
	select {
	case c := <-b.conn:
		return b, c
	case err := <-b.closed:
		t.Fatalf("dial: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("no OnOpen")
	}
	return nil, nil
}

// expect reads one message per element of want.
func (b *browser) expect(want ...string) {
	b.t.Helper()
	for _, w := range want {
		select {
		case m := <-b.msgs:
			require.Equal(b.t, w, m)
		case <-time.After(waitLimit):
			b.t.Fatalf("no message; want %q", w)
		}
	}
}

// say sends a line from the browser (any goroutine).
func say(t *testing.T, c *websocket.Conn, line string) {
	t.Helper()
	require.NoError(t, c.AsyncWriteMessage(websocket.OpText, []byte(line)))
}

// expectClose waits for the close and wants err to match.
func (b *browser) expectClose(match func(error) bool) {
	b.t.Helper()
	select {
	case err := <-b.closed:
		require.True(b.t, match(err), "OnClose(%v)", err)
	case <-time.After(waitLimit):
		b.t.Fatal("no OnClose")
	}
}

// TestWebRoom: browser members (over WebSocket, plain and tls, on both
// backends) and nc members share one room — generated nicks, lines both
// ways, /me, /who, /nick, /quit, join and leave notices — and a stop says
// goodbye to both kinds.
func TestWebRoom(t *testing.T) {
	for _, scheme := range []string{"tcp", "tls"} {
		t.Run(scheme, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
				s := startWeb(t, scheme, opts...)
				alice := join(t, s.ncAddr, "alice", 0)

				b, bc := s.dialBrowser(t, nil)
				var guest string
				select {
				case m := <-b.msgs:
					lines := strings.Split(m, "\n")
					require.Len(t, lines, 3, m)
					require.Equal(t, strings.TrimSuffix(greeting, "\n"), lines[0])
					require.True(t, strings.HasPrefix(lines[1], "* hello guest-"), lines[1])
					guest = strings.Fields(lines[1])[2]
					guest = strings.TrimSuffix(guest, ";")
					require.Contains(t, lines[1], "; 2 here")
				case <-time.After(waitLimit):
					t.Fatal("no welcome")
				}
				alice.expect("* " + guest + " joined")

				say(t, bc, "hi from the web")
				alice.expect("<" + guest + "> hi from the web")
				alice.send("hi browser", "/me waves")
				b.expect("<alice> hi browser", "* alice waves")
				say(t, bc, "/me waves back\n/who")
				alice.expect("* " + guest + " waves back")
				b.expect("* here (2): alice " + guest)
				say(t, bc, "/nick carol")
				b.expect("* " + guest + " is now known as carol")
				alice.expect("* " + guest + " is now known as carol")
				alice.send("/who")
				alice.expect("* here (2): alice carol")
				say(t, bc, "/quit")
				b.expect("* bye")
				b.expectClose(func(err error) bool { return err == nil })
				alice.expect("* carol left")

				// A second browser is there when the server stops.
				b2, _ := s.dialBrowser(t, nil)
				<-b2.msgs
				alice.line() // joined
				go s.eng.Stop(context.Background())
				b2.expect("* server shutting down")
				b2.expectClose(func(err error) bool { return err == nil }) // 1001 is a clean close
				alice.expect("* server shutting down")
				alice.expectEOF()
			})
		})
	}
}

// TestWebPageAndOrigin: the page at /, 404 elsewhere, and the origin
// check: a page of another site may not join.
func TestWebPageAndOrigin(t *testing.T) {
	s := startWeb(t, "tcp")
	client := &http.Client{Timeout: waitLimit}
	resp, err := client.Get(s.url("http", "/"))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, string(body), `new WebSocket(`)
	resp, err = client.Get(s.url("http", "/nope"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)

	// Same origin joins; another origin gets 403.
	b, c := s.dialBrowser(t, map[string][]string{"Origin": {"http://" + s.httpAddr}})
	<-b.msgs
	c.AsyncClose(websocket.CloseNormal, "")
	b.expectClose(func(err error) bool { return err == nil })
	evil := &browser{t: t, conn: make(chan *websocket.Conn, 1), msgs: make(chan string, 1), closed: make(chan error, 1)}
	require.NoError(t, websocket.Dial(s.clients, s.url("ws", "/ws"), evil, websocket.DialOptions{Header: map[string][]string{"Origin": {"http://evil.test"}}}))
	evil.expectClose(func(err error) bool {
		var he *websocket.HandshakeError
		return errors.As(err, &he) && he.Status == 403
	})
}

// TestBinaryWeb: the command serves the page on -http, printed as its
// second listening line, and a browser member joins the nc room.
func TestBinaryWeb(t *testing.T) {
	bin := cmdtest.Build(t, "chat")
	p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-http", "tcp://127.0.0.1:0", "-loops", "2")
	ncAddr := p.Addr("tcp")
	httpAddr, ok := strings.CutPrefix(p.Line(), "listening tcp://")
	require.True(t, ok)
	resp, err := (&http.Client{Timeout: waitLimit}).Get("http://" + httpAddr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	alice := join(t, ncAddr, "alice", 0)
	s := startWeb(t, "tcp") // only for its client engine
	s.httpAddr = httpAddr
	b, bc := s.dialBrowser(t, nil)
	<-b.msgs
	alice.expect("* guest-1 joined")
	say(t, bc, "hello")
	alice.expect("<guest-1> hello")
	p.Stop(syscall.SIGTERM)
	b.expect("* server shutting down")
	b.expectClose(func(err error) bool { return err == nil })
	alice.expect("* server shutting down")
	alice.expectEOF()
}
