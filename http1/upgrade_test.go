package http1

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// upperEcho is the protocol a test upgrades to: it echoes its input in
// upper case, keeps a context of its own, and reports its close.
type upperEcho struct {
	reactor.BaseHandler
	closed chan error
}

func (u *upperEcho) OnOpen(c conn.Conn) reactor.Action {
	c.SetContext("upper")
	return reactor.None
}

func (u *upperEcho) OnTraffic(c conn.Conn) reactor.Action {
	if c.Context() != "upper" {
		return reactor.Close
	}
	b, _ := c.Next(-1)
	c.Write([]byte(strings.ToUpper(string(b))))
	return reactor.None
}

func (u *upperEcho) OnClose(_ conn.Conn, err error) { u.closed <- err }

// TestServerUpgrade: a 101 hands the conn to another handler, with the
// bytes that came behind the request; a request that cannot upgrade (no
// Upgrade header, HTTP/1.0) gets ErrNoUpgrade and stays HTTP.
func TestServerUpgrade(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		up := &upperEcho{closed: make(chan error, 4)}
		refused := make(chan error, 4)
		s := NewServer(HandlerFunc(func(w *ResponseWriter, r *Request) {
			w.AddHeader("Upgrade", "upper")
			if err := w.Upgrade(up); err != nil {
				refused <- err
				w.SetStatus(400)
				w.WriteString("no")
			}
		}), Config{})
		addr := serve(t, s, opts)

		nc := dialRaw(t, addr)
		_, err := nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: upper\r\n\r\nearly "))
		require.NoError(t, err)
		br := bufio.NewReader(nc)
		resp, err := readHead(br)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(resp, "HTTP/1.1 101 Switching Protocols\r\n"), resp)
		require.Contains(t, resp, "\r\nUpgrade: upper\r\n")
		require.Contains(t, resp, "\r\nConnection: Upgrade\r\n")
		require.NotContains(t, resp, "Content-Length")
		want := "EARLY "
		got := make([]byte, len(want))
		_, err = io.ReadFull(br, got)
		require.NoError(t, err)
		require.Equal(t, want, string(got))
		_, err = nc.Write([]byte("GET / HTTP/1.1\r\n"))
		require.NoError(t, err)
		got = make([]byte, 16)
		_, err = io.ReadFull(br, got)
		require.NoError(t, err)
		require.Equal(t, "GET / HTTP/1.1\r\n", string(got), "no longer parsed as HTTP")
		nc.Close()
		select {
		case <-up.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the upgraded handler's OnClose did not run")
		}

		for _, req := range []string{
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: upper\r\n\r\n",
		} {
			nc := dialRaw(t, addr)
			_, err := nc.Write([]byte(req))
			require.NoError(t, err)
			resp, err := readHead(bufio.NewReader(nc))
			require.NoError(t, err)
			require.Contains(t, resp, " 400 ", req)
			require.True(t, errors.Is(<-refused, ErrNoUpgrade))
			nc.Close()
		}
	})
}

func readHead(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || line == "\r\n" {
			return b.String(), err
		}
	}
}

// selfEcho is an upgrade handler made for one conn, which is its own
// context (UpgradeAsContext): it echoes in upper case, checks that the
// conn's context is itself, and reports its stop and close.
type selfEcho struct {
	reactor.BaseHandler
	stopped chan struct{}
	closed  chan error
}

func (u *selfEcho) OnOpen(c conn.Conn) reactor.Action {
	if c.Context() != u {
		return reactor.Close
	}
	return reactor.None
}

func (u *selfEcho) OnTraffic(c conn.Conn) reactor.Action {
	if c.Context() != u {
		return reactor.Close
	}
	b, _ := c.Next(-1)
	c.Write([]byte(strings.ToUpper(string(b))))
	return reactor.None
}

func (u *selfEcho) OnStop(conn.Conn) { close(u.stopped) }

func (u *selfEcho) OnClose(_ conn.Conn, err error) { u.closed <- err }

// TestServerUpgradeAsContext: the handler an upgrade hands the conn to
// can be the conn's context itself, with no wrapper: it gets the early
// bytes, the traffic, OnStop as the engine stops, and OnClose once.
func TestServerUpgradeAsContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		ups := make(chan *selfEcho, 1)
		s := NewServer(HandlerFunc(func(w *ResponseWriter, r *Request) {
			up := &selfEcho{stopped: make(chan struct{}), closed: make(chan error, 2)}
			w.AddHeader("Upgrade", "upper")
			if err := w.UpgradeAsContext(up); err != nil {
				w.SetStatus(500) // the test fails on the status
				return
			}
			ups <- up
		}), Config{})
		e, err := reactor.Start(s, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		stopped := false
		defer func() {
			if !stopped {
				e.Stop(context.Background())
			}
		}()
		nc := dialRaw(t, e.Addrs()[0].String())
		_, err = nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: upper\r\n\r\nearly "))
		require.NoError(t, err)
		br := bufio.NewReader(nc)
		resp, err := readHead(br)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(resp, "HTTP/1.1 101 Switching Protocols\r\n"), resp)
		for _, want := range []string{"EARLY ", "AGAIN"} {
			if want == "AGAIN" {
				_, err = nc.Write([]byte("again"))
				require.NoError(t, err)
			}
			got := make([]byte, len(want))
			_, err = io.ReadFull(br, got)
			require.NoError(t, err)
			require.Equal(t, want, string(got))
		}
		up := <-ups
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped = true
		require.NoError(t, e.Stop(ctx))
		select {
		case <-up.stopped:
		default:
			t.Fatal("the upgraded handler's OnStop did not run")
		}
		select {
		case <-up.closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the upgraded handler's OnClose did not run")
		}
		require.Empty(t, up.closed, "OnClose ran twice")
	})
}
