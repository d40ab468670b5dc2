package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evloop/evloop/codec/resp"
	"github.com/evloop/evloop/examples/internal/backend"
)

// startKV serves cfg in-process on a free loopback port for the test's
// duration and returns the address.
func startKV(t testing.TB, cfg config) string {
	t.Helper()
	cfg.addr = "tcp://127.0.0.1:0"
	if cfg.shared == nil {
		cfg.shared = &backend.Flags{Loops: 2, Backend: "native", Poller: "auto"}
	}
	eng, err := start(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := eng.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return eng.Addrs()[0].String()
}

// client is a minimal RESP client: it sends commands as arrays of bulk
// strings (or raw bytes) and reads replies back as text:
//
//	+OK  -ERR ...  :42  "bulk"  (nil)  [a, b]  (nil array)
type client struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, r: bufio.NewReaderSize(c, 64<<10)}
}

// do sends one command and returns its reply.
func (c *client) do(args ...string) string {
	c.t.Helper()
	c.send(request(args...))
	return c.read()
}

// request encodes args as clients send them.
func request(args ...string) []byte {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	return resp.AppendCommand(nil, b...)
}

func (c *client) send(raw []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(raw); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) read() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	s, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return s
}

// expectEOF wants the server to close the conn with nothing more to say.
func (c *client) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := c.r.ReadByte()
	if err == nil {
		rest, _ := c.r.Peek(c.r.Buffered())
		c.t.Fatalf("want EOF, got %q", append([]byte{b}, rest...))
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		c.t.Fatalf("want EOF, got %v", err)
	}
}

// readReply parses one RESP2 reply. It trusts no length: a malformed reply
// is an error, not a panic or a huge allocation.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return "", fmt.Errorf("bad reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-', ':':
		return string(kind) + body, nil
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 256<<20 {
			return "", fmt.Errorf("bad bulk length %q", body)
		}
		if n == -1 {
			return "(nil)", nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		if string(b[n:]) != "\r\n" {
			return "", fmt.Errorf("bulk not followed by CRLF: %q", b[n:])
		}
		return strconv.Quote(string(b[:n])), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 1<<20 {
			return "", fmt.Errorf("bad array length %q", body)
		}
		if n == -1 {
			return "(nil array)", nil
		}
		items := make([]string, n)
		for i := range items {
			if items[i], err = readReply(r); err != nil {
				return "", err
			}
		}
		return "[" + strings.Join(items, ", ") + "]", nil
	}
	return "", fmt.Errorf("unknown reply type in %q", line)
}
