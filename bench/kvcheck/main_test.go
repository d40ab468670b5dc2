package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evloop/evloop/codec/resp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeKV is a RESP server with SET, GET and INFO; fault makes it misbehave.
type fakeKV struct {
	ln    net.Listener
	pid   int
	fault string // "": none; "drop": forgets every 7th SET; "corrupt": GET of the 5th key answers wrong
	mu    sync.Mutex
	store map[string]string
	wg    sync.WaitGroup
}

func startFake(t *testing.T, pid int, fault string) *fakeKV {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeKV{ln: ln, pid: pid, fault: fault, store: map[string]string{}}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeKV) serve(c net.Conn) {
	defer c.Close()
	dec, _ := resp.NewDecoder(resp.Config{})
	r := bufio.NewReader(c)
	var buf, out []byte
	sets := 0
	for {
		args, n, err := dec.DecodeCommand(buf, nil)
		if err != nil {
			return
		}
		if n == 0 {
			chunk := make([]byte, 4096)
			m, err := r.Read(chunk)
			if err != nil {
				return
			}
			buf = append(buf, chunk[:m]...)
			continue
		}
		out = out[:0]
		f.mu.Lock()
		switch strings.ToUpper(string(args[0])) {
		case "INFO":
			out = resp.AppendBulkString(out, fmt.Sprintf("# Server\r\nprocess_id:%d\r\n\r\n# Keyspace\r\ndb0:keys=%d,expires=0,avg_ttl=0\r\n", f.pid, len(f.store)))
		case "SET":
			sets++
			if f.fault != "drop" || sets%7 != 0 {
				f.store[string(args[1])] = string(args[2])
			}
			out = append(out, "+OK\r\n"...)
		case "GET":
			v, ok := f.store[string(args[1])]
			switch {
			case !ok:
				out = resp.AppendNull(out)
			case f.fault == "corrupt" && strings.HasSuffix(string(args[1]), ":5"):
				out = resp.AppendBulkString(out, v+"x")
			default:
				out = resp.AppendBulkString(out, v)
			}
		}
		f.mu.Unlock()
		buf = buf[n:]
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

func testConfig(addr string) config {
	return config{addr: addr, sources: []net.IP{net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
		keys: 250, size: 20, batch: 64, backends: 1, timeout: 5 * time.Second}
}

func TestCheckPasses(t *testing.T) {
	f := startFake(t, 4242, "")
	cfg := testConfig(f.ln.Addr().String())
	var log bytes.Buffer
	s := check(cfg, &log)
	if !s.ok(cfg) {
		var sum bytes.Buffer
		s.print(&sum, cfg)
		t.Fatalf("a correct server failed the check:\n%s", sum.String())
	}
	if s.verified != 500 || s.keysByPID[4242] != 500 || len(s.sourcesByPID[4242]) != 2 {
		t.Fatalf("verified %d, by pid %v %v", s.verified, s.keysByPID, s.sourcesByPID)
	}
	// Every conn is logged with its own address, for the script to find in
	// the server's log.
	if got := strings.Count(log.String(), " pid 4242 ("); got != 4 {
		t.Fatalf("%d conn lines, want 4:\n%s", got, log.String())
	}
	for _, src := range []string{"conn 127.0.0.2:", "conn 127.0.0.3:"} {
		if !strings.Contains(log.String(), src) {
			t.Fatalf("no %q line:\n%s", src, log.String())
		}
	}
	cfg.backends = 2
	if s.ok(cfg) {
		t.Fatal("one server passed as two")
	}
}

func TestCheckCatchesFaults(t *testing.T) {
	for _, fault := range []string{"drop", "corrupt"} {
		t.Run(fault, func(t *testing.T) {
			f := startFake(t, 7, fault)
			cfg := testConfig(f.ln.Addr().String())
			s := check(cfg, io.Discard)
			if s.ok(cfg) {
				t.Fatalf("a server that does %s passed", fault)
			}
			var sum bytes.Buffer
			s.print(&sum, cfg)
			switch fault {
			case "drop": // the INFO count shows the keys are not all there
				if !strings.Contains(sum.String(), "other errors 2") || !strings.Contains(sum.String(), "after 250 SETs") {
					t.Fatalf("summary:\n%s", sum.String())
				}
			case "corrupt":
				if s.wrong != 2 || s.verified != 498 {
					t.Fatalf("wrong %d verified %d:\n%s", s.wrong, s.verified, sum.String())
				}
			}
		})
	}
}

func TestRefusedIsCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(addr)
	s := check(cfg, io.Discard)
	if s.refused != 2 || s.ok(cfg) {
		t.Fatalf("refused %d, ok %v", s.refused, s.ok(cfg))
	}
}
