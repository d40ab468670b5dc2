package http1

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestNetHTTPAdapter runs a ServeMux unchanged: fields, bodies, Flush,
// status codes, and a context cancelled when the client goes away.
func TestNetHTTPAdapter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		gone := make(chan error, 1)
		entered := make(chan struct{}, 1)
		mux := http.NewServeMux()
		mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Proto", r.Proto)
			fmt.Fprintf(w, "hello %s from %s", r.PathValue("name"), r.Host)
		})
		mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, "%d:%s", len(b), strings.ToUpper(string(b)))
		})
		mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
		})
		mux.HandleFunc("/wait", func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			select {
			case <-r.Context().Done():
				gone <- r.Context().Err()
			case <-time.After(10 * time.Second):
				gone <- nil
			}
		})
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), opts)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}

		resp, err := cl.Get("http://" + addr + "/hello/gopher")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "hello gopher from "+addr, string(body))
		require.Equal(t, "HTTP/1.1", resp.Header.Get("X-Proto"))
		require.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))

		resp, err = cl.Post("http://"+addr+"/upload", "text/plain", strings.NewReader("abc"))
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, "3:ABC", string(body))

		resp, err = cl.Get("http://" + addr + "/flush")
		require.NoError(t, err)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "ab", string(body))
		require.Equal(t, []string{"chunked"}, resp.TransferEncoding)

		resp, err = cl.Get("http://" + addr + "/nothing")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNotFound, resp.StatusCode)

		c := dialRaw(t, addr)
		c.Write([]byte("GET /wait HTTP/1.1\r\nHost: a\r\n\r\n"))
		<-entered
		c.Close()
		select {
		case err := <-gone:
			require.Error(t, err, "the context was not cancelled when the client left")
		case <-time.After(10 * time.Second):
			t.Fatal("handler never returned")
		}
	})
}

// TestNetHTTPAdapterBusy: past workers and queue, requests get 503 at once.
func TestNetHTTPAdapterBusy(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	})
	a := NetHTTP(h, NetHTTPConfig{Workers: 1, Queue: 1})
	addr := serve(t, NewServer(a, Config{}), backends[0].opts)
	var conns []io.Reader
	for i := 0; i < 2; i++ {
		c := dialRaw(t, addr)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
		conns = append(conns, c)
	}
	<-started
	for deadline := time.Now().Add(10 * time.Second); a.(*netHTTP).inflight.Load() < 2; {
		require.True(t, time.Now().Before(deadline), "the second request never queued")
		time.Sleep(time.Millisecond)
	}
	c := dialRaw(t, addr)
	c.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	all, _ := io.ReadAll(c)
	require.True(t, strings.HasPrefix(string(all), "HTTP/1.1 503 "), "%q", all)
	close(release)
	for _, c := range conns {
		all, _ := io.ReadAll(c)
		require.True(t, strings.HasPrefix(string(all), "HTTP/1.1 200 "), "%q", all)
	}
}

// TestNetHTTPAdapterWorkers: at most Workers handlers run at once, the
// requests past them wait in the queue and are all answered, and the
// workers end when the engine stops, also with the adapter behind a
// router.
func TestNetHTTPAdapterWorkers(t *testing.T) {
	var running, most atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(20 * time.Millisecond) // long enough for the others to queue
		running.Add(-1)
		w.Write([]byte("ok"))
	})
	a := NetHTTP(h, NetHTTPConfig{Workers: 2, Queue: 16})
	// Behind a router of the application's: the server still ends the
	// adapter's workers as it stops.
	router := HandlerFunc(func(w *ResponseWriter, r *Request) { a.ServeHTTP1(w, r) })
	e, err := reactor.Start(NewServer(router, Config{}), []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			e.Stop(context.Background())
		}
	}()
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- getOK(e) }()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	require.Equal(t, int32(2), most.Load(), "handlers running at once")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped = true
	require.NoError(t, e.Stop(ctx))
	// Well within workerIdle: the stop ends them, not their idle time.
	for deadline := time.Now().Add(workerIdle / 2); a.(*netHTTP).running() > 0; {
		require.True(t, time.Now().Before(deadline), "the workers did not end with the engine")
		time.Sleep(time.Millisecond)
	}
}

// getOK sends one GET with Connection: close to e and checks for a 200.
func getOK(e reactor.Engine) error {
	c, err := net.DialTimeout("tcp", e.Addrs()[0].String(), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	all, err := io.ReadAll(c)
	if err == nil && !strings.HasPrefix(string(all), "HTTP/1.1 200 ") {
		err = fmt.Errorf("got %q", all)
	}
	return err
}

// running is the number of the adapter's workers.
func (a *netHTTP) running() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.workers
}

// goroutineID is the calling goroutine's number, from its stack's header
// ("goroutine 42 [running]:"): which worker ran a handler.
func goroutineID() string {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// TestNetHTTPAdapterWorkerReuse: after a burst has started several
// workers, requests one at a time all go to the worker that parked last
// (its stack is warm), not to each worker in turn; the others end once
// idle for workerIdle, and the last one too when requests stop.
func TestNetHTTPAdapterWorkerReuse(t *testing.T) {
	var mu sync.Mutex
	ran := map[string]int{}
	release := make(chan struct{})
	var burst atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if burst.Load() {
			<-release // hold the burst's workers until all four run
		}
		mu.Lock()
		ran[goroutineID()]++
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	a := NetHTTP(h, NetHTTPConfig{Workers: 8})
	e, err := reactor.Start(NewServer(a, Config{}), []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, e.Stop(ctx))
	}()
	const burstSize = 4
	burst.Store(true)
	errs := make(chan error, burstSize)
	for range burstSize {
		go func() { errs <- getOK(e) }()
	}
	for deadline := time.Now().Add(10 * time.Second); a.(*netHTTP).running() < burstSize; {
		require.True(t, time.Now().Before(deadline), "the burst did not start %d workers", burstSize)
		time.Sleep(time.Millisecond)
	}
	burst.Store(false)
	close(release)
	for range burstSize {
		require.NoError(t, <-errs)
	}
	mu.Lock()
	clear(ran)
	mu.Unlock()
	const sequential = 12
	for range sequential {
		require.NoError(t, getOK(e))
	}
	mu.Lock()
	require.Len(t, ran, 1, "workers that ran the sequential requests: %v", ran)
	mu.Unlock()

	// Under a trickle of requests the surplus workers end after workerIdle
	// and the busy one stays; with none, it ends too.
	for deadline := time.Now().Add(3 * workerIdle); a.(*netHTTP).running() > 1; {
		require.True(t, time.Now().Before(deadline), "%d workers still run under a trickle", a.(*netHTTP).running())
		require.NoError(t, getOK(e))
		time.Sleep(workerIdle / 10) // the trickle's pace, not a synchronization
	}
	for deadline := time.Now().Add(3 * workerIdle); a.(*netHTTP).running() > 0; {
		require.True(t, time.Now().Before(deadline), "an idle worker did not end")
		time.Sleep(time.Millisecond)
	}
	require.NoError(t, getOK(e), "a request after the workers ended")
}

// addrConn is a conn that only knows its peer's address: enough for the
// adapter's request conversion.
type addrConn struct{ conn.Conn }

func (addrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000} }

// TestNetHTTPRequestAllocs: converting a request with eight fields into an
// http.Request takes a bounded number of allocations, however many fields
// it has (one copy of all the strings, one array of values), and gives
// what net/http's server would.
func TestNetHTTPRequestAllocs(t *testing.T) {
	in := []byte("GET /json?x=1 HTTP/1.1\r\nHost: server\r\nUser-Agent: bench\r\nAccept: */*\r\n" +
		"Accept-Encoding: gzip\r\naccept-language: en\r\nX-Trace: a\r\nX-Trace: b\r\nConnection: keep-alive\r\n\r\n")
	lim := Limits{}.withDefaults()
	var r Request
	var rd reader
	ev, _, _, perr := rd.next(in, &r, &lim, lim.MaxBodyBytes)
	require.Nil(t, perr)
	require.Equal(t, evHead, ev)
	a := NetHTTP(http.NotFoundHandler(), NetHTTPConfig{}).(*netHTTP)
	w := &ResponseWriter{cs: &connState{c: addrConn{}}}
	ctx := context.Background()
	req, err := a.request(w, &r, ctx)
	require.NoError(t, err)
	require.Equal(t, "GET", req.Method)
	require.Equal(t, "/json?x=1", req.RequestURI)
	require.Equal(t, "/json", req.URL.Path)
	require.Equal(t, "server", req.Host)
	require.Equal(t, "127.0.0.1:40000", req.RemoteAddr)
	require.Equal(t, []string{"a", "b"}, req.Header["X-Trace"])
	require.Equal(t, []string{"en"}, req.Header["Accept-Language"])
	require.NotContains(t, req.Header, "Host")
	require.Len(t, req.Header, 6)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := a.request(w, &r, ctx); err != nil {
			t.Fatal(err)
		}
	})
	// The strings, the values, the header map (two for its size), the
	// URL, the Request: 7, where a copy per string and a slice per value
	// made 32.
	require.LessOrEqual(t, allocs, 7.0, "allocations per request")
}

// TestNetHTTPAdapterPanic: a handler that panics gets a 500 (not the 200
// its unwritten head would have been, nor the part of the body it had
// written, passed off as the whole), or, once its head went out, a
// response cut short; the conn closes and the server serves on. Behind it,
// a pipelined request's response is not written after the aborted one.
func TestNetHTTPAdapterPanic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		mux := http.NewServeMux()
		mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) {
			panic("boom")
		})
		mux.HandleFunc("/partial", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"partial":`)
			panic("boom")
		})
		mux.HandleFunc("/flushed", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond) // the pipelined request behind it is answered first
			panic("boom")
		})
		mux.HandleFunc("/abort", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		})
		mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})
		var logged safeBuffer
		log := slog.New(slog.NewTextHandler(&logged, nil))
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{ErrorLog: log}), Config{}), opts)
		exchange := func(req string) string {
			c := dialRaw(t, addr)
			io.WriteString(c, req)
			all, _ := io.ReadAll(c)
			return string(all)
		}
		for _, path := range []string{"/panic", "/partial"} {
			got := exchange("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
			require.True(t, strings.HasPrefix(got, "HTTP/1.1 500 "), "%s: %q", path, got)
			require.Contains(t, got, "Connection: close\r\n", path)
			require.NotContains(t, got, "partial", path)
			require.NotContains(t, got, "application/json", path)
		}
		got := exchange("GET /flushed HTTP/1.1\r\nHost: a\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
		require.True(t, strings.HasPrefix(got, "HTTP/1.1 200 "), "%q", got)
		require.True(t, strings.HasSuffix(got, "\r\n\r\n1\r\na\r\n"), "no last chunk, nothing after: %q", got)
		require.Equal(t, "", exchange("GET /abort HTTP/1.1\r\nHost: a\r\n\r\n"), "http.ErrAbortHandler: no response")
		got = exchange("GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
		require.True(t, strings.HasPrefix(got, "HTTP/1.1 200 "), "%q", got)
		// Each panic is logged with its request and stack, but
		// http.ErrAbortHandler's (as http.Server does).
		out := logged.String()
		for _, path := range []string{"/panic", "/partial", "/flushed"} {
			require.Contains(t, out, "target="+path+" panic=boom", "the log: %s", out)
		}
		require.Contains(t, out, "nethttp_test.go", "the handler's stack")
		require.NotContains(t, out, "target=/abort")
	})
}

// safeBuffer is a bytes.Buffer for a logger that writes from the workers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNetHTTPAdapterHeadAnd304Length: a HEAD response carries the
// Content-Length its handler set (http.ServeContent, http.FileServer set it
// and write no body), not the 0 of the body written, and a 304 carries no
// Content-Length but the handler's: RFC 9110 §8.6 forbids one that is not
// the length a GET's 200 would have.
func TestNetHTTPAdapterHeadAnd304Length(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		mod := time.Unix(1e9, 0)
		mux := http.NewServeMux()
		mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "a.txt", mod, strings.NewReader(strings.Repeat("x", 1234)))
		})
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), opts)
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}

		resp, err := cl.Head("http://" + addr + "/file")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, int64(1234), resp.ContentLength)

		req, _ := http.NewRequest("GET", "http://"+addr+"/file", nil)
		req.Header.Set("If-Modified-Since", mod.UTC().Format(http.TimeFormat))
		resp, err = cl.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 304, resp.StatusCode)
		require.Empty(t, resp.Header.Values("Content-Length"))

		resp, err = cl.Get("http://" + addr + "/file") // the conn is fine after them
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 1234, len(body))
	})
}

// TestResponseFieldInjection: a field value holding CR or LF (a redirect to
// a URL from the query) cannot add fields or end the head, and a field
// whose name is not a token is not sent, as under http.Server (Header.Write
// drops such names and turns CR and LF into spaces); the loop-native
// AddHeader alike.
func TestResponseFieldInjection(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/fields", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-V", "a\nX-Injected: 1")
		w.Header().Set("Bad Name", "1")
		w.Header().Set("Trailer:X-U", "1") // http.TrailerPrefix: not a field of the head
		io.WriteString(w, "ok")
	})
	adapted := NetHTTP(mux, NetHTTPConfig{})
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Target) == "/native" {
			w.AddHeader("X-V", "a\r\nX-Injected: 1\r\n\r\nbody")
			w.AddHeader("Bad:Name", "1")
			w.WriteString("ok")
			return
		}
		adapted.ServeHTTP1(w, r)
	})
	addr := serve(t, NewServer(h, Config{}), backends[0].opts)
	c := dialRaw(t, addr)
	br := bufio.NewReader(c)
	for _, target := range []string{"/redirect?to=/x%0d%0aSet-Cookie:%20evil=1", "/fields", "/native"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", target)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, target)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err, target)
		resp.Body.Close()
		require.Empty(t, resp.Header.Values("Set-Cookie"), target)
		require.Empty(t, resp.Header.Values("X-Injected"), target)
		require.Empty(t, resp.Header.Values("Bad Name"), target)
		require.Empty(t, resp.Header.Values("Bad:Name"), target)
		switch target {
		case "/fields", "/native":
			require.Equal(t, "ok", string(body), target)
			require.Contains(t, resp.Header.Get("X-V"), "X-Injected: 1", target)
		default:
			require.Equal(t, "/x  Set-Cookie: evil=1", resp.Header.Get("Location"))
		}
	}
}

// TestNetHTTPAdapterTargetForms: r.URL and r.Host as net/http's server
// makes them: an absolute-form target's authority wins over the Host field
// (RFC 9112 §3.2.2), CONNECT's authority-form is URL.Host (any host, an IP
// address included), and * is the path; the loop-native Request.Host too.
func TestNetHTTPAdapterTargetForms(t *testing.T) {
	adapted := NetHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s|%s|%s|%s", r.Host, r.URL.Scheme, r.URL.Host, r.URL.Path, r.URL.Opaque)
	}), NetHTTPConfig{})
	h := HandlerFunc(func(w *ResponseWriter, r *Request) {
		if string(r.Method) == "GET" && strings.HasSuffix(string(r.Target), "/native") {
			w.Write(r.Host)
			return
		}
		adapted.ServeHTTP1(w, r)
	})
	addr := serve(t, NewServer(h, Config{}), backends[0].opts)
	for _, tc := range []struct{ req, want string }{
		{"GET http://a.example:81/p?q HTTP/1.1\r\nHost: b.example\r\n\r\n", "a.example:81|http|a.example:81|/p|"},
		{"GET http://u@a.example/native HTTP/1.1\r\nHost: b.example\r\n\r\n", "a.example"},
		{"GET /native HTTP/1.1\r\nHost: b.example\r\n\r\n", "b.example"},
		{"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", "a.example:443||a.example:443||"},
		{"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", "127.0.0.1:443||127.0.0.1:443||"},
		{"CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", "[::1]:443||[::1]:443||"},
		{"OPTIONS * HTTP/1.1\r\nHost: b.example\r\n\r\n", "b.example|||*|"},
	} {
		c := dialRaw(t, addr)
		io.WriteString(c, tc.req)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, tc.req)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, tc.req)
		require.Equal(t, tc.want, string(body), tc.req)
	}
}

// TestNetHTTPAdapterHeaderSnapshot: as under http.Server, the Content-Type
// sniffed is that of the body written so far, not of its first Write
// alone, and the header map is taken at WriteHeader (or the first Write):
// a field set after it is not sent.
func TestNetHTTPAdapterHeaderSnapshot(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/sniff", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<")
		io.WriteString(w, "html><body>hi</body></html>")
	})
	mux.HandleFunc("/late-field", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-After", "1")
		io.WriteString(w, "x")
	})
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "%PDF-")
		w.(http.Flusher).Flush()
		w.Header().Set("X-After", "1")
		io.WriteString(w, "x")
	})
	addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), backends[0].opts)
	for _, tc := range []struct{ path, ctype string }{
		{"/sniff", "text/html; charset=utf-8"},
		{"/late-field", "text/plain; charset=utf-8"},
		{"/flush", "application/pdf"},
	} {
		resp, err := http.Get("http://" + addr + tc.path)
		require.NoError(t, err)
		io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, tc.ctype, resp.Header.Get("Content-Type"), tc.path)
		require.Empty(t, resp.Header.Get("X-After"), tc.path)
	}
}

// TestNetHTTPAdapterHalfClose: a client that half-closes right after its
// requests (nc -N) gets every response the workers are still making, then
// the server's EOF (reactor.EOFHandler); gnet closes a conn at its peer's
// EOF by itself.
func TestNetHTTPAdapterHalfClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		if isGnet(opts) {
			t.Skip("gnet closes a conn at its peer's EOF: no OnEOF (docs/backends.md)")
		}
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release // still working when the client's EOF comes
			io.WriteString(w, "answer "+r.URL.Path)
		})
		addr := serve(t, NewServer(NetHTTP(h, NetHTTPConfig{}), Config{}), opts)
		c := dialRaw(t, addr)
		_, err := io.WriteString(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
		require.NoError(t, err)
		require.NoError(t, c.(*net.TCPConn).CloseWrite())
		// Give the loop the time to see the EOF before the answers exist:
		// without OnEOF it closes the conn then, with nothing written.
		time.Sleep(50 * time.Millisecond)
		close(release)
		br := bufio.NewReader(c)
		for _, path := range []string{"/a", "/b"} {
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, path)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err, path)
			require.Equal(t, "answer "+path, string(body))
		}
		_, err = br.ReadByte()
		require.ErrorIs(t, err, io.EOF, "the server closes after the last response")
	})
}
