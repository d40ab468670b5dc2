package http1

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// TestNetHTTPStreamsTheBody: the adapter's handler reads Request.Body as
// it arrives. While the handler does not read, the conn stops reading (the
// client's write blocks once the window and the socket buffers are full;
// gnet cannot pause, and buffers instead), and once it reads on, every byte
// arrives, in order.
func TestNetHTTPStreamsTheBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		started, release := make(chan struct{}), make(chan struct{})
		mux := http.NewServeMux()
		mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
			first := make([]byte, 1)
			if _, err := io.ReadFull(r.Body, first); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			close(started)
			<-release
			h := sha256.New()
			h.Write(first)
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %x", n+1, h.Sum(nil))
		})
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), opts)
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		defer c.Close()

		const total = 32 << 20
		payload := make([]byte, total)
		rand.Read(payload)
		sum := sha256.Sum256(payload)
		fmt.Fprintf(c, "POST /sum HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", total)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Write(payload[:1])
		require.NoError(t, err)
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not run on the head and first byte")
		}
		sent := 1
		if !isGnet(opts) {
			c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
			n, err := c.Write(payload[sent:])
			require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the client's write never blocked: the body was read into memory")
			sent += n
		}
		close(release)
		c.SetDeadline(time.Now().Add(30 * time.Second))
		_, err = c.Write(payload[sent:])
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, string(body))
		require.Equal(t, fmt.Sprintf("%d %s", total, hex.EncodeToString(sum[:])), string(body))
	})
}

// TestNetHTTPStreamsAChunkedBody: a chunked upload of unknown length from
// Go's client, with Expect: 100-continue, reaches the handler whole.
func TestNetHTTPStreamsAChunkedBody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		mux := http.NewServeMux()
		mux.HandleFunc("PUT /sum", func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			n, err := io.Copy(h, r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%d %x %v", n, h.Sum(nil), r.TransferEncoding)
		})
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), opts)
		const total = 3<<20 + 17
		payload := make([]byte, total)
		rand.Read(payload)
		sum := sha256.Sum256(payload)
		pr, pw := io.Pipe()
		go func() {
			for off := 0; off < total; off += 100 << 10 {
				pw.Write(payload[off:min(off+100<<10, total)])
			}
			pw.Close()
		}()
		req, err := http.NewRequest("PUT", "http://"+addr+"/sum", pr)
		require.NoError(t, err)
		req.Header.Set("Expect", "100-continue")
		tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode, string(body))
		require.Equal(t, fmt.Sprintf("%d %s [chunked]", total, hex.EncodeToString(sum[:])), string(body))
	})
}

// TestStreamBodiesLoopNative: with Config.StreamBodies a loop-native
// handler gets the body as Request.BodyStream and answers with Defer once
// a goroutine has read it.
func TestStreamBodiesLoopNative(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		h := HandlerFunc(func(w *ResponseWriter, r *Request) {
			if r.BodyStream == nil || r.Body != nil {
				w.SetStatus(500)
				return
			}
			d, body := w.Defer(), r.BodyStream // r is the loop's: take what the goroutine needs
			go func() {
				b, err := io.ReadAll(body)
				if err != nil {
					d.SetStatus(400)
				}
				fmt.Fprintf(d, "%d", len(b))
				d.Done()
			}()
		})
		addr := serve(t, NewServer(h, Config{StreamBodies: true}), opts)
		resp, err := http.Post("http://"+addr+"/", "application/octet-stream", io.LimitReader(rand.Reader, 1<<20))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "1048576", string(body))
	})
}

// TestStreamedBodyLeftUnread: a handler that answers without reading the
// body gets its response out whole, and then the conn closes (it cannot
// carry a next request before the body's end).
func TestStreamedBodyLeftUnread(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /no", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "no thanks")
		})
		addr := serve(t, NewServer(NetHTTP(mux, NetHTTPConfig{}), Config{}), opts)
		requireRefusedUpload(t, dialRaw(t, addr))
	})
}

// requireRefusedUpload sends the head and a little of a large upload to
// POST /no on c, and checks that the answer, "no thanks", says the conn
// closes, and that it does.
func requireRefusedUpload(t *testing.T, c net.Conn) {
	t.Helper()
	fmt.Fprintf(c, "POST /no HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nsome of it")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "no thanks", string(body))
	require.True(t, resp.Close, "the response says the conn closes: %v", resp.Header)
	_, err = br.ReadByte()
	require.ErrorIs(t, err, io.EOF, "the conn closes after the response")
}

// isGnet: the options run the gnet backend.
func isGnet(opts []reactor.Option) bool {
	return reactor.NewOptions(opts...).Backend != nil && reactor.NewOptions(opts...).Backend.Name() == "gnet"
}

// TestStreamedBodyLeftUnreadLoopNative: a loop-native handler with
// StreamBodies that answers without Defer leaves its body unread: its
// response says Connection: close, as the conn closes after it.
func TestStreamedBodyLeftUnreadLoopNative(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		h := HandlerFunc(func(w *ResponseWriter, r *Request) { w.WriteString("no thanks") })
		addr := serve(t, NewServer(h, Config{StreamBodies: true}), opts)
		requireRefusedUpload(t, dialRaw(t, addr))
	})
}

// TestNetHTTPStreamedTrailer: a streamed chunked body's trailer reaches
// Request.Trailer once Body.Read has returned io.EOF, the keys the Trailer
// field announced being there (nil) before, as under http.Server; a
// loop-native streaming handler finds it in BodyStream.Trailer.
func TestNetHTTPStreamedTrailer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			before := fmt.Sprint(r.Trailer)
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			fmt.Fprintf(w, "%s|%s|%v", b, before, r.Trailer)
		})
		addr := serve(t, NewServer(NetHTTP(h, NetHTTPConfig{}), Config{}), opts)
		pr, pw := io.Pipe()
		go func() {
			pw.Write([]byte("hello "))
			time.Sleep(20 * time.Millisecond) // the handler runs before the body's end
			pw.Write([]byte("world"))
			pw.Close()
		}()
		req, err := http.NewRequest("POST", "http://"+addr+"/", pr)
		require.NoError(t, err)
		req.Trailer = http.Header{"X-Sum": {"42"}}
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "hello world|map[X-Sum:[]]|map[X-Sum:[42]]", string(body))
	})
	got := make(chan string, 1)
	native := HandlerFunc(func(w *ResponseWriter, r *Request) {
		d, b := w.Defer(), r.BodyStream
		go func() {
			data, _ := io.ReadAll(b)
			got <- fmt.Sprintf("%s %s", data, fieldsString(b.Trailer()))
			d.Done()
		}()
	})
	addr := serve(t, NewServer(native, Config{StreamBodies: true}), backends[0].opts)
	c := dialRaw(t, addr)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-A: 1\r\n\r\n")
	require.Equal(t, "abc [X-A: 1]", <-got)
}
