package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/codec/resp"
	"github.com/evloop/evloop/examples/internal/backend"
)

// step is one command and the reply it must get, in client's text form.
type step struct {
	args []string
	want string
}

func cmd(want string, args ...string) step { return step{args, want} }

func runSteps(t *testing.T, c *client, steps []step) {
	t.Helper()
	for _, s := range steps {
		if got := c.do(s.args...); got != s.want {
			t.Errorf("%q: got %s, want %s", s.args, got, s.want)
		}
	}
}

func TestCommands(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	runSteps(t, c, []step{
		cmd("+PONG", "PING"),
		cmd("+PONG", "ping"),
		cmd(`"hi there"`, "PING", "hi there"),
		cmd("-ERR wrong number of arguments for 'ping' command", "PING", "a", "b"),
		cmd(`"a\r\nb\x00"`, "ECHO", "a\r\nb\x00"),

		cmd("(nil)", "GET", "k"),
		cmd("+OK", "SET", "k", "v1"),
		cmd(`"v1"`, "GET", "k"),
		cmd("+OK", "SeT", "k", ""),
		cmd(`""`, "GET", "k"),
		cmd("(nil)", "SET", "k", "v2", "NX"),
		cmd(`""`, "GET", "k"),
		cmd("+OK", "SET", "k", "v3", "XX"),
		cmd("(nil)", "SET", "nokey", "v", "XX"),
		cmd("(nil)", "GET", "nokey"),
		cmd("+OK", "SET", "nx", "v", "nx"),
		cmd(`"v3"`, "SET", "k", "v4", "GET"),
		cmd("(nil)", "SET", "fresh", "v", "GET"),
		cmd("-ERR syntax error", "SET", "k", "v", "NX", "XX"),
		cmd("-ERR syntax error", "SET", "k", "v", "EX"),
		cmd("-ERR syntax error", "SET", "k", "v", "EX", "10", "PX", "10"),
		cmd("-ERR syntax error", "SET", "k", "v", "bogus"),
		cmd("-ERR value is not an integer or out of range", "SET", "k", "v", "EX", "ten"),
		cmd("-ERR invalid expire time in 'set' command", "SET", "k", "v", "EX", "0"),
		cmd("-ERR invalid expire time in 'set' command", "SET", "k", "v", "PX", "-5"),
		cmd("-ERR invalid expire time in 'set' command", "SET", "k", "v", "EX", "9223372036854775807"),
		cmd("-ERR invalid expire time in 'set' command", "SET", "k", "v", "EX", "9223372036854776"),
		// Past the store clock's 2262 but within redis-server's bounds.
		cmd("+OK", "SET", "far", "v", "EX", "9223372036854"),
		cmd(`"v"`, "GET", "far"),
		cmd("+OK", "SET", "far", "v2", "PXAT", "99999999999999"),
		cmd(`"v2"`, "GET", "far"),
		cmd(`"v4"`, "GET", "k"),
		cmd("-ERR wrong number of arguments for 'set' command", "SET", "k"),
		cmd("-ERR wrong number of arguments for 'get' command", "GET"),
		cmd("-ERR wrong number of arguments for 'get' command", "GET", "a", "b"),

		cmd("+OK", "SET", "ttl", "v", "EX", "100"),
		cmd(":100", "TTL", "ttl"),
		cmd(":-1", "TTL", "k"),
		cmd(":-2", "TTL", "missing"),
		cmd(":-2", "PTTL", "missing"),
		cmd("+OK", "SET", "ttl", "v2", "KEEPTTL"),
		cmd(":100", "TTL", "ttl"),
		cmd("+OK", "SET", "ttl", "v3"),
		cmd(":-1", "TTL", "ttl"),
		cmd("+OK", "SET", "past", "v", "PXAT", "1"),
		cmd("(nil)", "GET", "past"),

		cmd(":1", "EXISTS", "k"),
		cmd(":2", "EXISTS", "k", "k", "missing"),
		cmd(":0", "EXISTS", "missing"),
		cmd(":2", "DEL", "k", "nx", "missing"),
		cmd(":0", "DEL", "k"),
		cmd("-ERR wrong number of arguments for 'del' command", "DEL"),

		cmd(":1", "INCR", "n"),
		cmd(":2", "INCR", "n"),
		cmd(":12", "INCRBY", "n", "10"),
		cmd(":11", "DECR", "n"),
		cmd(":-9", "DECRBY", "n", "20"),
		cmd(`"-9"`, "GET", "n"),
		cmd("+OK", "SET", "s", "abc"),
		cmd("-ERR value is not an integer or out of range", "INCR", "s"),
		cmd("+OK", "SET", "s", " 1"),
		cmd("-ERR value is not an integer or out of range", "INCR", "s"),
		cmd("+OK", "SET", "s", "01"),
		cmd("-ERR value is not an integer or out of range", "INCR", "s"),
		cmd("-ERR value is not an integer or out of range", "INCRBY", "n", "x"),
		cmd("+OK", "SET", "big", "9223372036854775807"),
		cmd("-ERR increment or decrement would overflow", "INCR", "big"),
		cmd(`"9223372036854775807"`, "GET", "big"),
		cmd("+OK", "SET", "big", "9223372036854775808"),
		cmd("-ERR value is not an integer or out of range", "INCR", "big"),

		cmd("+OK", "MSET", "a", "1", "b", "2", "c", "3"),
		cmd(`["1", (nil), "2", "3", (nil)]`, "MGET", "a", "missing", "b", "c", "x"),
		cmd(`[(nil)]`, "MGET", "missing"),
		cmd("-ERR wrong number of arguments for 'mset' command", "MSET", "a", "1", "b"),
		cmd("-ERR wrong number of arguments for 'mget' command", "MGET"),

		cmd("-ERR unknown command 'foo'", "foo"),
		cmd("-ERR unknown command 'FOO', with args beginning with: 'a' 'b c' ", "FOO", "a", "b c"),
		cmd("-ERR unknown command 'a  b'", "a\r\nb"),
		cmd("[]", "COMMAND"),
		cmd("[]", "COMMAND", "DOCS"),
		cmd(":30", "COMMAND", "COUNT"),
		cmd("+OK", "CLIENT", "SETNAME", "test"),
		cmd("+OK", "CLIENT", "SETINFO", "LIB-NAME", "go-test"),
		cmd("(nil)", "CLIENT", "GETNAME"),
		cmd("-ERR unknown subcommand 'bogus'. Try CLIENT HELP.", "CLIENT", "bogus"),
		cmd("+OK", "SELECT", "0"),
		cmd("-ERR DB index is out of range", "SELECT", "1"),
		cmd("-ERR value is not an integer or out of range", "SELECT", "x"),
		cmd(`["save", "", "appendonly", "no"]`, "CONFIG", "GET", "save", "appendonly"),
		cmd("[]", "CONFIG", "GET", "nonexistent"),
		cmd(`["maxmemory", "0"]`, "CONFIG", "GET", "MAX*"),
		cmd("-NOPROTO sorry, this protocol version is not supported.", "HELLO", "3"),
		cmd(`["server", "redis", "version", "7.0.0", "proto", :2, "id", :0, "mode", "standalone", "role", "master", "modules", []]`, "HELLO", "2"),
		cmd("+OK", "FLUSHALL"),
		cmd(":0", "DBSIZE"),
	})
	if got := c.do("INFO"); !strings.Contains(got, `redis_version:7.0.0`) || !strings.Contains(got, `db0:keys=0`) {
		t.Errorf("INFO: %s", got)
	}
	c.do("SET", "x", "y")
	if got := c.do("INFO", "keyspace"); !strings.Contains(got, `db0:keys=1,expires=0`) {
		t.Errorf("INFO keyspace: %s", got)
	}
	if got := c.do("QUIT"); got != "+OK" {
		t.Fatalf("QUIT: %s", got)
	}
	c.expectEOF()
}

// TestLists checks LPUSH, RPUSH, LPOP, RPOP and LLEN against replies
// recorded from redis-server 7.0.
func TestLists(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	const wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value"
	runSteps(t, c, []step{
		cmd(":3", "LPUSH", "l", "a", "b", "c"),
		cmd(":4", "RPUSH", "l", "d"),
		cmd(":4", "LLEN", "l"),
		cmd(`"c"`, "LPOP", "l"),
		cmd(`"d"`, "RPOP", "l"),
		cmd("[]", "LPOP", "l", "0"),
		cmd(`["b", "a"]`, "LPOP", "l", "5"),
		cmd(":0", "EXISTS", "l"), // emptied: deleted
		cmd("(nil)", "LPOP", "l"),
		cmd("(nil array)", "LPOP", "l", "2"),
		cmd(":0", "LLEN", "l"),
		cmd(":1", "RPUSH", "l", "x"),
		cmd(wrongType, "GET", "l"),
		cmd(wrongType, "INCR", "l"),
		cmd(wrongType, "SET", "l", "v", "GET"),
		cmd("[(nil)]", "MGET", "l"),
		cmd("+OK", "SET", "s", "v"),
		cmd(wrongType, "LPUSH", "s", "x"),
		cmd(wrongType, "LPOP", "s"),
		cmd(wrongType, "LPOP", "s", "2"),
		cmd(wrongType, "LLEN", "s"),
		cmd("-ERR value is out of range, must be positive", "RPOP", "l", "-1"),
		cmd("-ERR value is out of range, must be positive", "RPOP", "l", "x"),
		cmd("-ERR wrong number of arguments for 'lpop' command", "LPOP", "l", "1", "2"),
		cmd("-ERR wrong number of arguments for 'lpush' command", "LPUSH", "l"),
		cmd(":3", "RPUSH", "l", "y", "z"),
		cmd(`["z", "y"]`, "RPOP", "l", "2"),
		cmd("+OK", "SET", "l", "str"), // SET replaces a list
		cmd(`"str"`, "GET", "l"),
	})
	// Many elements, pushed and popped at both ends, wrap the ring buffer
	// and grow it: order must survive.
	for i := 0; i < 100; i++ {
		c.do("RPUSH", "r", strconv.Itoa(i))
		c.do("LPUSH", "r", strconv.Itoa(-i-1))
		if i%3 == 0 {
			c.do("RPOP", "r")
			c.do("RPUSH", "r", strconv.Itoa(i))
		}
	}
	if got := c.do("LLEN", "r"); got != ":200" {
		t.Fatalf("LLEN after pushes: %s", got)
	}
	for want := -100; want < 100; want++ {
		if got := c.do("LPOP", "r"); got != strconv.Quote(strconv.Itoa(want)) {
			t.Fatalf("LPOP: got %s, want %d", got, want)
		}
	}
	if got := c.do("EXISTS", "r"); got != ":0" {
		t.Fatalf("emptied list still exists: %s", got)
	}
}

func TestPipeline(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	const n = 1000
	var batch []byte
	for i := 0; i < n; i++ {
		switch i % 4 {
		case 0:
			batch = append(batch, request("SET", "key"+strconv.Itoa(i), "v"+strconv.Itoa(i))...)
		case 1:
			batch = append(batch, request("GET", "key"+strconv.Itoa(i-1))...)
		case 2:
			batch = append(batch, request("INCR", "counter")...)
		case 3:
			batch = append(batch, "PING\r\n"...)
		}
	}
	c.send(batch) // one write
	for i := 0; i < n; i++ {
		var want string
		switch i % 4 {
		case 0:
			want = "+OK"
		case 1:
			want = strconv.Quote("v" + strconv.Itoa(i-1))
		case 2:
			want = ":" + strconv.Itoa(i/4+1)
		case 3:
			want = "+PONG"
		}
		if got := c.read(); got != want {
			t.Fatalf("reply %d: %s, want %s", i, got, want)
		}
	}
	if got := c.do("DBSIZE"); got != ":251" {
		t.Errorf("DBSIZE %s, want :251", got)
	}
}

func TestInline(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	// A blank line gets no reply; words may be separated by any white space.
	c.send([]byte("PING\r\n\r\n  SET  greeting \t hello\r\nGET greeting\nping hi\r\nnosuch x\r\n"))
	for _, want := range []string{"+PONG", "+OK", `"hello"`, `"hi"`, "-ERR unknown command 'nosuch', with args beginning with: 'x' "} {
		if got := c.read(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	// Quoted words, as redis-server reads them from nc or telnet.
	c.send([]byte("SET q \"hello world\\x21\"\r\nGET q\r\nSET 'it\\'s' x\r\nGET \"it's\"\r\nECHO \"\"\r\n"))
	for _, want := range []string{"+OK", `"hello world!"`, "+OK", `"x"`, `""`} {
		if got := c.read(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	// Inline and array requests mix, even split across writes.
	c.send([]byte("GET gre"))
	time.Sleep(10 * time.Millisecond)
	c.send([]byte("eting\r\n*1\r\n$4\r\nPI"))
	time.Sleep(10 * time.Millisecond)
	c.send([]byte("NG\r\nquit\r\n"))
	for _, want := range []string{`"hello"`, "+PONG", "+OK"} {
		if got := c.read(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	c.expectEOF()
}

func TestProtocolErrorCloses(t *testing.T) {
	addr := startKV(t, config{})
	for _, tc := range []struct {
		name, wire string
		replies    []string
	}{
		{"not a bulk", "*1\r\n+PING\r\n", []string{"-ERR Protocol error: expected '$', got '+'"}},
		{"bad count", "*x\r\n", []string{"-ERR Protocol error: invalid multibulk length"}},
		{"negative bulk", "*1\r\n$-3\r\n", []string{"-ERR Protocol error: invalid bulk length"}},
		{"no crlf after bulk", "*1\r\n$4\r\nPINGxx", []string{"-ERR Protocol error: expected CRLF after bulk string"}},
		{"unbalanced quotes inline", "SET q \"unterminated\r\n", []string{"-ERR Protocol error: unbalanced quotes in request"}},
		{"requests before are served", "PING\r\n*1\r\n$4\r\nECHO\r\n*1\r\n:1\r\nPING\r\n",
			[]string{"+PONG", "-ERR wrong number of arguments for 'echo' command", "-ERR Protocol error: expected '$', got ':'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send([]byte(tc.wire))
			for _, want := range tc.replies {
				if got := c.read(); got != want {
					t.Fatalf("got %s, want %s", got, want)
				}
			}
			c.expectEOF()
		})
	}
}

func TestOversizeRequestCloses(t *testing.T) {
	addr := startKV(t, config{})
	small := startKV(t, config{limits: resp.Config{MaxBulk: 1024, MaxArgs: 8, MaxInline: 256}})
	for _, tc := range []struct {
		name, addr, wire, want string
	}{
		// Refused at the header, before the value is sent.
		{"bulk over 4 MiB", addr, fmt.Sprintf("*2\r\n$3\r\nSET\r\n$%d\r\n", defaultMaxBulk+1), "-ERR Protocol error: invalid bulk length"},
		{"too many args", addr, fmt.Sprintf("*%d\r\n", defaultMaxArgs+1), "-ERR Protocol error: invalid multibulk length"},
		{"inline over 64 KiB", addr, strings.Repeat("x", 70<<10), "-ERR Protocol error: too big inline request"},
		{"bulk over configured limit", small, "*2\r\n$3\r\nSET\r\n$1025\r\n", "-ERR Protocol error: invalid bulk length"},
		{"args over configured limit", small, "*9\r\n", "-ERR Protocol error: invalid multibulk length"},
		{"inline over configured limit", small, "GET " + strings.Repeat("k", 300) + "\r\n", "-ERR Protocol error: too big inline request"},
		{"request over configured limit", small, "*4\r\n$3\r\nSET\r\n" + strings.Repeat("$1024\r\n"+strings.Repeat("k", 1024)+"\r\n", 2) + "$1024\r\n", "-ERR Protocol error: too big request (limit 2304 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, tc.addr)
			c.send([]byte(tc.wire))
			if got := c.read(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			c.expectEOF()
		})
	}
	// At the configured limits, requests are served.
	c := dial(t, small)
	val := strings.Repeat("v", 1024)
	if got := c.do("SET", "k", val); got != "+OK" {
		t.Fatalf("SET at the limit: %s", got)
	}
	if got := c.do("GET", "k"); got != strconv.Quote(val) {
		t.Fatalf("GET: %.40s...", got)
	}
}

// eventually polls f until it returns true or a bounded wait runs out.
func eventually(t *testing.T, wait time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExpiry(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	start := time.Now()
	runSteps(t, c, []step{
		cmd("+OK", "SET", "px", "v", "PX", "50"),
		cmd("+OK", "SET", "ex", "v", "EX", "1"),
		cmd("+OK", "SET", "keep", "v"),
	})
	if got := c.do("GET", "px"); got != `"v"` && time.Since(start) < 40*time.Millisecond {
		t.Fatalf("GET px right after SET: %s", got)
	}
	eventually(t, 2*time.Second, func() bool { return c.do("GET", "px") == "(nil)" })
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("PX 50 expired after %v", d)
	}
	if got := c.do("EXISTS", "px"); got != ":0" {
		t.Errorf("EXISTS after expiry: %s", got)
	}
	if got := c.do("PTTL", "ex"); got == ":-1" || (got == ":-2" && time.Since(start) < 900*time.Millisecond) {
		t.Errorf("PTTL ex: %s", got)
	}
	eventually(t, 3*time.Second, func() bool { return c.do("GET", "ex") == "(nil)" })
	if got := c.do("GET", "keep"); got != `"v"` {
		t.Errorf("key without TTL: %s", got)
	}
	// SET without KEEPTTL clears a TTL; INCR keeps it.
	runSteps(t, c, []step{
		cmd("+OK", "SET", "n", "1", "PX", "100000"),
		cmd(":2", "INCR", "n"),
	})
	if got := c.do("TTL", "n"); got != ":100" && got != ":99" {
		t.Errorf("TTL after INCR: %s", got)
	}
}

func TestExpirySweep(t *testing.T) {
	// Keys nobody reads again are removed by the ticker's sweep.
	c := dial(t, startKV(t, config{}))
	const n = 500
	var batch []byte
	for i := 0; i < n; i++ {
		batch = append(batch, request("SET", "tmp"+strconv.Itoa(i), "v", "PX", "20")...)
	}
	batch = append(batch, request("SET", "stay", "v")...)
	c.send(batch)
	for i := 0; i <= n; i++ {
		if got := c.read(); got != "+OK" {
			t.Fatalf("SET %d: %s", i, got)
		}
	}
	eventually(t, 5*time.Second, func() bool { return c.do("DBSIZE") == ":1" })
}

func TestConcurrentClients(t *testing.T) {
	addr := startKV(t, config{shared: &backend.Flags{Loops: 4, Backend: "native", Poller: "auto"}})
	const clients, incrs = 8, 300
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, addr)
			var batch []byte
			for j := 0; j < incrs; j++ {
				batch = append(batch, request("INCR", "shared")...)
				batch = append(batch, request("SET", fmt.Sprintf("c%d:%d", i, j), "x")...)
			}
			c.send(batch)
			for j := 0; j < 2*incrs; j++ {
				if got := c.read(); strings.HasPrefix(got, "-") {
					t.Errorf("client %d: %s", i, got)
					return
				}
			}
			if got := c.do("MSET", fmt.Sprintf("m%d", i), "1", "shared2", strconv.Itoa(i)); got != "+OK" {
				t.Errorf("MSET: %s", got)
			}
		}()
	}
	wg.Wait()
	c := dial(t, addr)
	if got, want := c.do("GET", "shared"), strconv.Quote(strconv.Itoa(clients*incrs)); got != want {
		t.Errorf("shared counter %s, want %s", got, want)
	}
	if got, want := c.do("DBSIZE"), fmt.Sprintf(":%d", 2+clients*(incrs+1)); got != want {
		t.Errorf("DBSIZE %s, want %s", got, want)
	}
}

func TestLargeValuesAndBackpressure(t *testing.T) {
	c := dial(t, startKV(t, config{}))
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if got := c.do("SET", "big", string(big)); got != "+OK" {
		t.Fatalf("SET 1 MiB: %s", got)
	}
	if got := c.do("GET", "big"); got != strconv.Quote(string(big)) {
		t.Fatalf("GET 1 MiB: %d bytes back", len(got))
	}
	// 64 GETs of 1 MiB asked at once: the server stops at its high
	// watermark and resumes as the client reads, and every reply arrives
	// whole and in order.
	const n = 64
	var batch []byte
	for i := 0; i < n; i++ {
		batch = append(batch, request("GET", "big")...)
	}
	batch = append(batch, request("PING")...)
	c.send(batch)
	time.Sleep(50 * time.Millisecond) // let the server run into backpressure
	want := strconv.Quote(string(big))
	for i := 0; i < n; i++ {
		if got := c.read(); got != want {
			t.Fatalf("reply %d: %.40s... (%d bytes)", i, got, len(got))
		}
	}
	if got := c.read(); got != "+PONG" {
		t.Fatalf("after the GETs: %s", got)
	}
}

func TestRunPrintsListeningAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "tcp://127.0.0.1:0", "-loops", "1"}, w, io.Discard)
		w.Close()
	}()
	line := make([]byte, 128)
	n, err := r.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(line[:n])), "listening tcp://")
	if !ok || !strings.HasSuffix(string(line[:n]), "\n") {
		t.Fatalf("first line %q", line[:n])
	}
	if got := dial(t, addr).do("PING"); got != "+PONG" {
		t.Errorf("PING: %s", got)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-backend", "bogus", "-addr", "tcp://127.0.0.1:0"}, io.Discard, &stderr); err == nil {
		t.Error("unknown backend accepted")
	}
	stderr.Reset()
	run(context.Background(), []string{"-help"}, io.Discard, &stderr)
	if usage := stderr.String(); !strings.Contains(usage, "-addr") || !strings.Contains(usage, "-maxbulk") || strings.Contains(usage, "cpuprofile") {
		t.Errorf("usage:\n%s", usage)
	}
	// A bad value prints the usage with the defaults, not with the values
	// the command line set before it.
	stderr.Reset()
	run(context.Background(), []string{"-addr", "tcp://127.0.0.1:1234", "-maxbulk", "99", "-loops", "abc"}, io.Discard, &stderr)
	if usage := stderr.String(); !strings.Contains(usage, `(default "tcp://127.0.0.1:6380")`) || strings.Contains(usage, "1234") || strings.Contains(usage, "(default 99)") {
		t.Errorf("usage after a bad value:\n%s", usage)
	}
}

// TestMain lets the test binary stand in for the kv command, so that
// TestSignalExit can run it as a child process.
func TestMain(m *testing.M) {
	if os.Getenv("KV_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestSignalExit(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-addr", "tcp://127.0.0.1:0", "-loops", "1")
			cmd.Env = append(os.Environ(), "KV_TEST_MAIN=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line := make([]byte, 128)
			n, _ := stdout.Read(line)
			if !strings.HasPrefix(string(line[:n]), "listening tcp://127.0.0.1:") {
				cmd.Process.Kill()
				t.Fatalf("first line %q", line[:n])
			}
			cmd.Process.Signal(sig)
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			select {
			case err := <-waited:
				if err != nil {
					t.Errorf("exit after %v: %v", sig, err)
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("still running 10s after %v", sig)
			}
		})
	}
}

func TestLookupFindsEveryCommandInAnyCase(t *testing.T) {
	n := 0
	for _, bucket := range commandsByLen {
		for _, c := range bucket {
			n++
			require.Same(t, c, lookup([]byte(c.name)))
			require.Same(t, c, lookup([]byte(strings.ToUpper(c.name))))
			mixed := []byte(c.name)
			mixed[0] -= 'a' - 'A'
			require.Same(t, c, lookup(mixed))
		}
	}
	require.Equal(t, 30, n)
	require.Nil(t, lookup([]byte("gets")))
	require.Nil(t, lookup([]byte("ge")))
	require.Nil(t, lookup(nil))
	require.Nil(t, lookup([]byte("averyveryverylongcommandname")))
}
