package http1

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/internal/fdtest"
	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// TestServerNeverReads: a client that pipelines requests for big responses
// and never reads them makes the server stop parsing once MaxOutbound is
// buffered (memory bounded by it plus the kernel's socket buffers), and
// serves the rest, in order, once the client reads.
func TestServerNeverReads(t *testing.T) {
	const (
		requests = 400
		size     = 64 << 10
		// MaxOutbound (1 MiB) plus the send buffer the kernel may grow to
		// (tcp_wmem max, 4 MiB here), the client's 64 KiB receive buffer and
		// a batch in flight.
		bound = 8 << 20
	)
	big := strings.Repeat("x", size)
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		var served atomic.Int64
		h := HandlerFunc(func(w *ResponseWriter, r *Request) {
			served.Add(1)
			w.AddHeader("X-Target", string(r.Target))
			w.WriteString(big)
		})
		addr := serve(t, NewServer(h, Config{}), opts)
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			// A fixed small receive buffer: no autotuning hides the bound.
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 64<<10) })
		}}
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(60 * time.Second))
		var b strings.Builder
		for i := 0; i < requests; i++ {
			fmt.Fprintf(&b, "GET /%d HTTP/1.1\r\nHost: a\r\n\r\n", i)
		}
		_, err = c.Write([]byte(b.String())) // ~12 KB: the kernel takes it whole
		require.NoError(t, err)

		// Wait until the server stops answering (the count holds still).
		last, stable := int64(-1), 0
		for deadline := time.Now().Add(20 * time.Second); stable < 5; {
			require.True(t, time.Now().Before(deadline), "the server kept answering: %d", served.Load())
			time.Sleep(100 * time.Millisecond)
			if n := served.Load(); n == last {
				stable++
			} else {
				last, stable = n, 0
			}
		}
		require.Less(t, last, int64(requests), "every response was built while the client read none")
		require.LessOrEqual(t, last*size, int64(bound), "%d responses (%d bytes) built for a client that reads none", last, last*size)
		t.Logf("%d of %d responses built while the client read nothing", last, requests)

		// The client reads: every response comes, in order.
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < requests; i++ {
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "response %d", i)
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			require.Equal(t, int64(size), n)
			require.Equal(t, "/"+strconv.Itoa(i), resp.Header.Get("X-Target"))
		}
		require.Equal(t, int64(requests), served.Load())
	})
}

// idleClientEnv names the child process that holds the idle conns of
// TestServerIdleConns: "addr n". A child of its own has its own fd limit,
// and the server's memory is not mixed with the clients'.
const idleClientEnv = "HTTP1_TEST_IDLE_CLIENT"

// idleConnsEnv raises TestServerIdleConns's conn count (default 1,000;
// the 10,000 takes longer than the suite's budget under -race).
const idleConnsEnv = "HTTP1_IDLE_CONNS"

// TestServerIdleConns: many keep-alive conns, each after one request,
// idle on the server; once their client goes, the server's fds and heap
// are back to where they were.
func TestServerIdleConns(t *testing.T) {
	n := 1000
	if v := os.Getenv(idleConnsEnv); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	fdtest.RaiseNoFile(t, uint64(n+256))
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		// The native loop frees a closed conn once its idle timer entry
		// comes due (the timer heap deletes lazily), so the heap is back to
		// its baseline only an IdleTimeout after the close: keep it short,
		// but long enough for the conns to be opened and counted idle.
		idle := 3*time.Second + time.Duration(n)*time.Millisecond
		s := NewServer(testHandler, Config{Limits: Limits{IdleTimeout: idle}})
		e, err := reactor.Start(s, []string{"tcp://127.0.0.1:0"}, opts...)
		require.NoError(t, err)
		defer func() {
			stopEngine(t, e)
		}()
		addr := e.Addrs()[0].String()
		fds0, heap0 := fdtest.Open(t), heapInUse()

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), idleClientEnv+"="+addr+" "+strconv.Itoa(n))
		stdin, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		exited := make(chan struct{})
		var waitErr error
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		defer func() {
			stdin.Close()
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}()
		ready := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- line
		}()
		select {
		case line := <-ready:
			require.Equal(t, "ready\n", line)
		case <-time.After(120 * time.Second):
			t.Fatal("the client did not open its conns")
		}
		require.Eventually(t, func() bool { return e.Conns() == n }, 10*time.Second, 10*time.Millisecond, "conns %d", e.Conns())
		perConn := float64(heapInUse()-heap0) / float64(n)
		t.Logf("%d idle keep-alive conns: %d fds, %.0f bytes of heap each on the server", n, fdtest.Open(t)-fds0, perConn)
		require.GreaterOrEqual(t, fdtest.Open(t)-fds0, n)

		stdin.Close() // the client closes its conns and exits
		select {
		case <-exited:
			require.NoError(t, waitErr)
		case <-time.After(30 * time.Second):
			t.Fatal("the client did not exit")
		}
		require.Eventually(t, func() bool { return e.Conns() == 0 && fdtest.Open(t) <= fds0 }, 20*time.Second, 10*time.Millisecond,
			"conns %d, fds %d (baseline %d)", e.Conns(), fdtest.Open(t), fds0)
		// What stays is what the loops sized for the peak (timer heap and
		// fd table capacity): well under the conns' own memory.
		var left int64
		back := func() bool {
			left = heapInUse() - heap0
			return left < 1<<20+int64(n)*100
		}
		deadline := time.Now().Add(idle + 10*time.Second)
		for !back() && time.Now().Before(deadline) {
			time.Sleep(250 * time.Millisecond)
		}
		t.Logf("after the close: %d bytes of heap above the baseline", left)
		require.True(t, back(), "%d bytes of heap above the baseline after the close", left)
	})
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// idleClient is the child of TestServerIdleConns: it opens n conns, makes
// one keep-alive request on each, says "ready", and closes them all when
// its stdin closes.
func idleClient(spec string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "idle client:", err)
		os.Exit(1)
	}
	addr, count, _ := strings.Cut(spec, " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		fail(err)
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var first atomic.Value
	next := atomic.Int64{}
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				conns[i] = c
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write([]byte("GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n")); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				if resp.Close {
					first.CompareAndSwap(nil, fmt.Errorf("conn %d: the server closes after the first response", i))
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		fail(err)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	os.Exit(0)
}

func stopEngine(t *testing.T, e reactor.Engine) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Stop(t.Context())
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	<-e.Done()
}

// tlsMux reports the protocol the adapted handler sees.
func tlsMux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		alpn := "none"
		if r.TLS != nil {
			alpn = r.TLS.NegotiatedProtocol
		}
		fmt.Fprintf(w, "%s %s alpn=%s from=%s", r.Proto, r.URL.Path, alpn, r.RemoteAddr)
	})
	return m
}

// TestServerTLS: over tls:// a client offering http/1.1 by ALPN gets it
// (TLSConfig adds it), and both loop-native and net/http handlers see the
// TLS state; on both backends.
func TestServerTLS(t *testing.T) {
	cert, err := selfsigned.New()
	require.NoError(t, err)
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		cfg := TLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
		require.Equal(t, []string{"http/1.1"}, cfg.NextProtos)
		s := NewServer(NetHTTP(tlsMux(), NetHTTPConfig{}), Config{})
		e, err := reactor.Start(s, []string{"tls://127.0.0.1:0"}, append([]reactor.Option{reactor.WithTLS(cfg)}, opts...)...)
		require.NoError(t, err)
		defer stopEngine(t, e)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: selfsigned.Pool(cert), NextProtos: []string{"h2", "http/1.1"}}}
		defer tr.CloseIdleConnections()
		cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		for i := 0; i < 3; i++ {
			resp, err := cl.Get("https://" + e.Addrs()[0].String() + "/secure")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "http/1.1", resp.TLS.NegotiatedProtocol)
			require.True(t, strings.HasPrefix(string(body), "HTTP/1.1 /secure alpn=http/1.1 from=127.0.0.1:"), "%q", body)
		}
	})
}

// TestServerBehindProxy: behind ?proxy=required the handler sees the
// client's address from the PROXY header, and the HTTP after it is served
// as usual (pipelined requests included).
func TestServerBehindProxy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		s := NewServer(NetHTTP(tlsMux(), NetHTTPConfig{}), Config{})
		opts = append([]reactor.Option{reactor.WithProxy(reactor.WithProxyTrusted(netip.MustParsePrefix("127.0.0.0/8")))}, opts...)
		e, err := reactor.Start(s, []string{"tcp://127.0.0.1:0?proxy=required"}, opts...)
		require.NoError(t, err)
		defer stopEngine(t, e)
		c := dialRaw(t, e.Addrs()[0].String())
		_, err = c.Write([]byte("PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n" +
			"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
		require.NoError(t, err)
		br := bufio.NewReader(c)
		for _, path := range []string{"/one", "/two"} {
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "HTTP/1.1 "+path+" alpn=none from=203.0.113.7:40000", string(body))
		}
		_, err = br.ReadByte()
		require.ErrorIs(t, err, io.EOF)
	})
}
