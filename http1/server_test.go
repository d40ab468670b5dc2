package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// backends are the engine configurations every server test runs on.
var backends = []struct {
	name string
	opts []reactor.Option
}{
	{"native", []reactor.Option{reactor.WithLoops(2)}},
	{"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New()), reactor.WithLoops(2)}},
	{"uring", []reactor.Option{reactor.WithBackend(uringbackend.New()), reactor.WithLoops(2)}},
}

func forEachBackend(t *testing.T, fn func(t *testing.T, opts []reactor.Option)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b.opts) })
	}
}

// serve starts s on a loopback port and returns its address.
func serve(t *testing.T, s *Server, opts []reactor.Option) string {
	t.Helper()
	e, err := reactor.Start(s, []string{"tcp://127.0.0.1:0"}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.Stop(ctx)
		<-e.Done()
	})
	return e.Addrs()[0].String()
}

// testHandler answers /plaintext, echoes bodies at /echo, /defer-now with a
// Deferred done in the handler, defers /defer/N
// by N ms, and reports the request at other paths.
var testHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	switch {
	case string(r.Target) == "/plaintext":
		w.AddHeader("Content-Type", "text/plain")
		w.WriteString("Hello, World!")
	case string(r.Target) == "/echo":
		w.AddHeader("X-Trailer-Count", fmt.Sprint(len(r.Trailer)))
		w.Write(r.Body)
	case strings.HasPrefix(string(r.Target), "/defer/"):
		var ms int
		fmt.Sscanf(string(r.Target), "/defer/%d", &ms)
		target := string(r.Target)
		d := w.Defer()
		time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
			d.Write([]byte(target))
			d.Done()
		})
	case string(r.Target) == "/defer-now":
		// Done before the handler returns: serve takes the bytes itself,
		// with no Wake to come.
		d := w.Defer()
		d.Write([]byte("/defer-now"))
		d.Done()
	case string(r.Target) == "/stream":
		w.WriteString("part1,")
		w.Flush()
		w.WriteString("part2")
	case string(r.Target) == "/nocontent":
		w.SetStatus(204)
		w.WriteString("dropped")
	default:
		fmt.Fprintf(w, "%s %s", r.Method, r.Target)
	}
})

func newTestServer(lim Limits) *Server { return NewServer(testHandler, Config{Limits: lim}) }

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func TestServerNetHTTPClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		addr := serve(t, newTestServer(Limits{}), opts)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i := 0; i < 3; i++ { // keep-alive reuse
			resp, err := cl.Get("http://" + addr + "/plaintext")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "Hello, World!", string(body))
			require.Equal(t, "text/plain", resp.Header.Get("Content-Type"))
			require.Equal(t, "evloop", resp.Header.Get("Server"))
			_, err = http.ParseTime(resp.Header.Get("Date"))
			require.NoError(t, err)
		}
		// A chunked upload with trailers and Expect: 100-continue.
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("hello "))
			pw.Write([]byte("world"))
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", "http://"+addr+"/echo", pr)
		req.Header.Set("Expect", "100-continue")
		req.Trailer = http.Header{"X-T": {"v"}}
		resp, err := cl.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "hello world", string(body))
		require.Equal(t, "1", resp.Header.Get("X-Trailer-Count"))
		// Streamed response.
		resp, err = cl.Get("http://" + addr + "/stream")
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "part1,part2", string(body))
		require.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	})
}

// TestServerPipelineOrder: 16 pipelined requests, the early ones answered
// last (deferred), come back in request order.
func TestServerPipelineOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		addr := serve(t, newTestServer(Limits{}), opts)
		c := dialRaw(t, addr)
		var b strings.Builder
		var want []string
		for i := 0; i < 16; i++ {
			target := fmt.Sprintf("/p%d", i)
			switch {
			case i%2 == 0:
				target = fmt.Sprintf("/defer/%d", 5*(16-i))
			case i%4 == 1:
				target = "/defer-now"
			}
			want = append(want, target)
			fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: a\r\n\r\n", target)
		}
		_, err := c.Write([]byte(b.String()))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		for i, target := range want {
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "response %d", i)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Contains(t, string(body), target, "response %d out of order", i)
		}
		// Alone on the conn, with nothing after it to make the loop run
		// again: a Deferred done in its handler is answered all the same.
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err = c.Write([]byte("GET /defer-now HTTP/1.1\r\nHost: a\r\n\r\n"))
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "/defer-now", string(body))
	})
}

// TestServerRefusals: each violation gets its status, then the conn
// closes and what followed (a smuggled request) is not served.
func TestServerRefusals(t *testing.T) {
	cases := []struct{ req, status string }{
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n", "400"},
		{"GET / HTTP/2.7\r\nHost: a\r\n\r\n", "505"},
		{"GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", "414"},
		{"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 17000) + "\r\n\r\n", "431"},
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", "413"},
		{"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501"},
	}
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		addr := serve(t, newTestServer(Limits{}), opts)
		for _, tc := range cases {
			c := dialRaw(t, addr)
			go c.Write([]byte(tc.req))
			all, err := io.ReadAll(c)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(all), "HTTP/1.1 "+tc.status+" "), "%q -> %q", tc.req[:20], all)
			require.Contains(t, string(all), "Connection: close")
			require.NotContains(t, string(all), "smuggled")
		}
	})
}

// TestServerKeepAliveRules: HTTP/1.0 closes unless keep-alive; 1.1 stays
// open unless Connection: close; HEAD and 204 carry no body.
func TestServerKeepAliveRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		addr := serve(t, newTestServer(Limits{}), opts)
		read := func(req string) string {
			c := dialRaw(t, addr)
			c.Write([]byte(req))
			all, _ := io.ReadAll(c) // ends when the server closes, or at the deadline
			return string(all)
		}
		got := read("GET /x HTTP/1.0\r\n\r\n")
		require.Contains(t, got, "Connection: close")
		require.True(t, strings.HasSuffix(got, "GET /x"))

		got = read("GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n")
		require.Contains(t, got, "GET /a")
		require.Contains(t, got, "GET /b")
		require.NotContains(t, got, "GET /c")

		got = read("HEAD /plaintext HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		require.Contains(t, got, "Content-Length: 13\r\n")
		require.True(t, strings.HasSuffix(got, "\r\n\r\n"), "%q", got)

		got = read("GET /nocontent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		require.True(t, strings.HasPrefix(got, "HTTP/1.1 204 "))
		require.NotContains(t, got, "Content-Length")
		require.NotContains(t, got, "dropped")

		// close wins over keep-alive, in any order (RFC 9112 §9.3).
		for _, conn := range []string{"close, keep-alive", "keep-alive\r\nConnection: close"} {
			got = read("GET /k HTTP/1.0\r\nConnection: " + conn + "\r\n\r\nGET /second HTTP/1.0\r\n\r\n")
			require.Contains(t, got, "Connection: close\r\n", conn)
			require.NotContains(t, got, "GET /second", conn)
		}

		// 1.0 keep-alive: the conn stays open for a second request.
		c := dialRaw(t, addr)
		br := bufio.NewReader(c)
		for i := 0; i < 2; i++ {
			c.Write([]byte("GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"))
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			io.ReadAll(resp.Body)
			require.Equal(t, "keep-alive", resp.Header.Get("Connection"))
		}
	})
}

// TestServerSlowloris: a client sending its head one byte a second is
// closed at the header deadline, not kept alive by each byte (each comes
// well within the deadline, as each would within an idle timeout).
func TestServerSlowloris(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel() // each waits out its deadline
			const timeout = 2500 * time.Millisecond
			addr := serve(t, newTestServer(Limits{HeaderTimeout: timeout}), b.opts)
			c := dialRaw(t, addr)
			start := time.Now()
			closed := make(chan time.Duration, 1)
			go func() {
				io.Copy(io.Discard, c)
				closed <- time.Since(start)
			}()
			head := "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("y", 100)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			c.Write([]byte{head[0]})
			for i := 1; i < len(head); i++ {
				select {
				case d := <-closed:
					require.GreaterOrEqual(t, d, timeout)
					require.Less(t, d, timeout+2*time.Second)
					require.LessOrEqual(t, i, 4, "bytes sent before the close")
					return
				case <-tick.C:
					c.Write([]byte{head[i]})
				}
			}
			t.Fatal("the slow head was never cut off")
		})
	}
}

// TestServerIdleTimeout: a keep-alive conn with no next request closes.
func TestServerIdleTimeout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		addr := serve(t, newTestServer(Limits{IdleTimeout: 200 * time.Millisecond}), opts)
		c := dialRaw(t, addr)
		c.Write([]byte("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n"))
		start := time.Now()
		all, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Contains(t, string(all), "Hello, World!")
		require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond)
	})
}

// TestServerBodyOverMaxInbound: a Content-Length body under MaxBodyBytes
// is served whole when it is larger than the engine's inbound bound
// (WithMaxInbound, 256 KiB under WithInternetProfile, which the examples
// use): it does not wait in the conn's inbound buffer, where it closed the
// conn with conn.ErrInboundTooLarge and no response. Keep-alive goes on
// after it, and a body that arrives with its head is served as before.
func TestServerBodyOverMaxInbound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		opts = append(opts, reactor.WithInternetProfile())
		addr := serve(t, newTestServer(Limits{}), opts)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for _, n := range []int{10, 1 << 20, 3 << 20, 10} {
			want := strings.Repeat("0123456789abcdef", n/16+1)[:n]
			for _, expect := range []bool{false, true} {
				req, _ := http.NewRequest("POST", "http://"+addr+"/echo", strings.NewReader(want))
				if expect {
					req.Header.Set("Expect", "100-continue")
				}
				resp, err := cl.Do(req)
				require.NoError(t, err, "%d bytes", n)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, 200, resp.StatusCode)
				require.True(t, want == string(body), "%d bytes: %d back", n, len(body))
			}
		}
	})
}
