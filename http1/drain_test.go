package http1

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestServerDrain: when the engine drains (an upgrade hands over), an idle
// keep-alive conn is closed at once, and a conn with a request in flight
// gets its answer, which says Connection: close, then the close; the drain
// ends when both have, long before its deadline.
func TestServerDrain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		arrived, release := make(chan struct{}, 1), make(chan struct{})
		h := HandlerFunc(func(w *ResponseWriter, r *Request) {
			if string(r.Target) != "/held" {
				w.WriteString("hi")
				return
			}
			d := w.Defer()
			arrived <- struct{}{}
			go func() {
				<-release
				d.Write([]byte("held"))
				d.Done()
			}()
		})
		told := make(chan struct{}, 2)
		root := &toldOfStop{Forward: reactor.Forward{Next: NewServer(h, Config{})}, told: told}
		e, err := reactor.Start(root, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e.Stop(ctx)
			<-e.Done()
		}()
		addr := e.Addrs()[0].String()

		idle := dialRaw(t, addr)
		_, err = idle.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		ir := bufio.NewReader(idle)
		resp, err := http.ReadResponse(ir, nil)
		require.NoError(t, err)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.False(t, resp.Close, "keep-alive before the drain")

		busy := dialRaw(t, addr)
		_, err = busy.Write([]byte("GET /held HTTP/1.1\r\nHost: x\r\n\r\n"))
		require.NoError(t, err)
		select {
		case <-arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("the held request did not arrive")
		}

		drained := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			drained <- e.Drain(ctx)
		}()

		_, err = ir.ReadByte()
		require.ErrorIs(t, err, io.EOF, "the idle conn is closed by the drain")
		for range 2 { // both conns have been told (on any loop)
			select {
			case <-told:
			case <-time.After(10 * time.Second):
				t.Fatal("OnStop did not reach both conns")
			}
		}
		close(release)

		br := bufio.NewReader(busy)
		resp, err = http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "held", string(body), "the request in flight is answered")
		require.True(t, resp.Close, "its head, written after the stop, says Connection: close")
		_, err = br.ReadByte()
		require.ErrorIs(t, err, io.EOF)
		busy.Close()

		select {
		case err := <-drained:
			require.NoError(t, err, "every conn ended on its own")
		case <-time.After(15 * time.Second):
			t.Fatal("the drain did not end")
		}
	})
}

// toldOfStop passes every callback on, and reports each OnStop after the
// handler inside has seen it.
type toldOfStop struct {
	reactor.Forward
	told chan struct{}
}

func (h *toldOfStop) OnStop(c conn.Conn) {
	h.Forward.OnStop(c)
	h.told <- struct{}{}
}
