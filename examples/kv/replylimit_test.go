package main

import (
	"bytes"
	"context"
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
	"github.com/evloop/evloop/reactor"
)

func tooLarge(limit int) string {
	return fmt.Sprintf("-ERR reply too large: over the server's limit of %d bytes (-maxreply)", limit)
}

// mgetN is MGET of key n times.
func mgetN(key string, n int) []string {
	args := []string{"MGET"}
	for i := 0; i < n; i++ {
		args = append(args, key)
	}
	return args
}

// The request of issue 24, 716 bytes asking for 100 MiB, is answered with
// an error at kv's defaults, and the conn serves on.
func TestReplyLimitDefault(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	if got := c.do("SET", "k", string(bytes.Repeat([]byte("v"), 1<<20))); got != "+OK" {
		t.Fatalf("SET: %s", got)
	}
	if got := c.do(mgetN("k", 100)...); got != tooLarge(defaultMaxReply) {
		t.Fatalf("MGET of 100 MiB: %.80s", got)
	}
	if got := c.do("PING"); got != "+PONG" {
		t.Fatalf("PING after: %s", got)
	}
}

// A reply past -maxreply is an error reply, built no further than the
// limit; the conn serves on, and replies within the limit are whole. A
// list is left as it was by a pop whose reply would be too large.
func TestReplyLimit(t *testing.T) {
	const limit = 1 << 20
	c := dial(t, startKV(t, config{limits: resp.Config{MaxBulk: 256 << 10}, maxReply: limit}))
	big := string(bytes.Repeat([]byte("v"), 256<<10))
	if got := c.do("SET", "k", big); got != "+OK" {
		t.Fatalf("SET: %s", got)
	}
	if got := c.do(mgetN("k", 5)...); got != tooLarge(limit) {
		t.Fatalf("MGET of 1.25 MiB: %.80s", got)
	}
	if got := c.do("PING"); got != "+PONG" {
		t.Fatalf("PING after: %s", got)
	}
	want := "[" + strings.Repeat(strconv.Quote(big)+", ", 2) + strconv.Quote(big) + "]"
	if got := c.do(mgetN("k", 3)...); got != want {
		t.Fatalf("MGET of 768 KiB: %d bytes of reply, want %d", len(got), len(want))
	}
	for i := 0; i < 8; i++ {
		if got := c.do("RPUSH", "l", big); got != ":"+strconv.Itoa(i+1) {
			t.Fatalf("RPUSH: %s", got)
		}
	}
	if got := c.do("LPOP", "l", "8"); got != tooLarge(limit) {
		t.Fatalf("LPOP of 2 MiB: %.80s", got)
	}
	if got := c.do("LLEN", "l"); got != ":8" {
		t.Fatalf("LLEN after a refused pop: %s", got)
	}
	if got := c.do("RPOP", "l", "2"); got != "["+strconv.Quote(big)+", "+strconv.Quote(big)+"]" {
		t.Fatalf("RPOP of 512 KiB: %.80s", got)
	}
	if got := c.do("LLEN", "l"); got != ":6" {
		t.Fatalf("LLEN: %s", got)
	}
}

// -maxreply below a GET of the largest value is refused.
func TestReplyLimitBelowMaxBulk(t *testing.T) {
	_, err := newServer(resp.Config{MaxBulk: 1000}, 1000, reactor.DefaultWriteHigh)
	if err == nil || !strings.Contains(err.Error(), "-maxreply 1000") {
		t.Fatalf("got %v", err)
	}
}

// A client that pipelines large replies and never reads them holds at most
// the outbound bound kv sets (one reply plus the high watermark), without
// being cut off; one that would make it hold more is closed.
func TestNonReaderIsBounded(t *testing.T) {
	for _, be := range []string{"native", "gnet"} {
		t.Run(be, func(t *testing.T) {
			cfg := config{addr: "tcp://127.0.0.1:0", shared: &backend.Flags{Loops: 1, Backend: be, Poller: "auto"}}
			eng, err := start(cfg, slog.New(slog.DiscardHandler), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				eng.Stop(ctx)
			}()
			c := dial(t, eng.Addrs()[0].String())
			c.conn.(*net.TCPConn).SetReadBuffer(16 << 10)
			big := string(bytes.Repeat([]byte("v"), 1<<20))
			if got := c.do("SET", "k", big); got != "+OK" {
				t.Fatalf("SET: %s", got)
			}
			// 40 requests of 15 MiB each: the server stops after the
			// first, over its high watermark, and waits for the client.
			var batch []byte
			for i := 0; i < 40; i++ {
				batch = append(batch, request(mgetN("k", 15)...)...)
			}
			c.send(batch)
			srv := &server{writeHigh: reactor.DefaultWriteHigh, maxReply: defaultMaxReply}
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				s := eng.Stats()
				if s.OutboundBuffered > int64(srv.maxOutbound()) || s.OutboundOverflows > 0 || eng.Conns() != 1 {
					t.Fatalf("outbound %d (bound %d), overflows %d, conns %d", s.OutboundBuffered, srv.maxOutbound(), s.OutboundOverflows, eng.Conns())
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
