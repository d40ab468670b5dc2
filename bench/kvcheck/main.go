// Command kvcheck checks that keys written to examples/kv servers through a
// load balancer can all be read back, and where they went. The servers keep
// separate stores, so the balancer must send a client to one server every
// time: HAProxy's "balance source", which bench/haproxy.sh sets up.
//
//	go run ./bench/kvcheck -addr 127.0.0.1:6400 -sources 127.0.0.2,127.0.0.3 -keys 1000
//
// From each source address in turn it opens a conn, asks INFO for the
// server's process_id and key count, SETs -keys new keys (pipelined), and
// asks INFO again: the count must have grown by exactly -keys, so the keys
// are in that server's store. Then it opens a second conn from the same
// source, which must reach the same process, and GETs every key back,
// comparing each value. It prints one line per conn, "conn <local addr> pid
// <server pid>", so that a script can find the conn in that server's log,
// then a summary, and exits 1 if anything was refused, reset, missing or
// wrong, or if fewer than -backends servers were reached.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/evloop/evloop/codec/resp"
)

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "host:port of the balancer (or of one kv server)")
	sources := flag.String("sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9", "comma-separated local IPs to connect from, one after the other")
	flag.IntVar(&cfg.keys, "keys", 1000, "keys written and read back per source")
	flag.IntVar(&cfg.size, "size", 32, "bytes per value")
	flag.IntVar(&cfg.batch, "batch", 100, "commands per pipelined batch")
	flag.IntVar(&cfg.backends, "backends", 1, "servers that must have been reached (distinct process_id)")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "bound on each dial and each batch's replies")
	flag.Parse()
	for _, s := range strings.Split(*sources, ",") {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			fmt.Fprintf(os.Stderr, "kvcheck: -sources: bad IP %q\n", s)
			os.Exit(2)
		}
		cfg.sources = append(cfg.sources, ip)
	}
	if cfg.addr == "" || cfg.keys <= 0 || cfg.batch <= 0 || cfg.size <= 0 {
		fmt.Fprintln(os.Stderr, "kvcheck: -addr is required; -keys, -batch and -size must be positive")
		os.Exit(2)
	}
	s := check(cfg, os.Stdout)
	s.print(os.Stdout, cfg)
	if !s.ok(cfg) {
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	addr     string
	sources  []net.IP
	keys     int
	size     int
	batch    int
	backends int
	timeout  time.Duration
}

// summary is what check saw.
type summary struct {
	written, verified         int
	missing, wrong            int
	refused, resets, otherErr int
	firstErr                  error
	keysByPID                 map[int]int      // keys written to each server
	sourcesByPID              map[int][]string // sources each server was reached from
}

func (s *summary) fail(err error) {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		s.refused++
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		s.resets++
	default:
		s.otherErr++
	}
	if s.firstErr == nil {
		s.firstErr = err
	}
}

func (s *summary) ok(cfg config) bool {
	return s.refused+s.resets+s.otherErr+s.missing+s.wrong == 0 &&
		s.verified == cfg.keys*len(cfg.sources) && len(s.keysByPID) >= cfg.backends
}

func (s *summary) print(w io.Writer, cfg config) {
	pids := make([]int, 0, len(s.keysByPID))
	for pid := range s.keysByPID {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	for _, pid := range pids {
		fmt.Fprintf(w, "server pid %d: %d keys from %s\n", pid, s.keysByPID[pid], strings.Join(s.sourcesByPID[pid], ","))
	}
	fmt.Fprintf(w, "kvcheck: %d keys written, %d read back and equal; missing %d, wrong %d; connects refused %d, resets %d, other errors %d; %d servers reached (want %d)\n",
		s.written, s.verified, s.missing, s.wrong, s.refused, s.resets, s.otherErr, len(s.keysByPID), cfg.backends)
	if s.firstErr != nil {
		fmt.Fprintln(w, "kvcheck: first error:", s.firstErr)
	}
}

// check runs the write and read-back from every source in turn, logging
// each conn to log.
func check(cfg config, log io.Writer) *summary {
	s := &summary{keysByPID: map[int]int{}, sourcesByPID: map[int][]string{}}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for si, src := range cfg.sources {
		keys := make([]string, cfg.keys)
		for i := range keys {
			keys[i] = fmt.Sprintf("kvcheck:%s:%s:%d", run, src, i)
		}
		pid, err := writeKeys(cfg, src, si, keys, s, log)
		if err != nil {
			s.fail(fmt.Errorf("source %s: write: %w", src, err))
			continue
		}
		if err := readKeys(cfg, src, si, keys, pid, s, log); err != nil {
			s.fail(fmt.Errorf("source %s: read back: %w", src, err))
		}
	}
	return s
}

// value is the value of key i of source si: distinct per key, so a value
// served for the wrong key shows.
func value(si, i, size int) []byte {
	v := fmt.Appendf(nil, "%d:%d:", si, i)
	for len(v) < size {
		v = append(v, byte('a'+(len(v)+i)%26))
	}
	return v
}

// client is a RESP2 conn: commands out, replies in.
type client struct {
	c   net.Conn
	r   *bufio.Reader
	out []byte
}

func dial(cfg config, src net.IP) (*client, error) {
	d := net.Dialer{Timeout: cfg.timeout, LocalAddr: &net.TCPAddr{IP: src}}
	c, err := d.Dial("tcp", cfg.addr)
	if err != nil {
		return nil, err
	}
	return &client{c: c, r: bufio.NewReader(c)}, nil
}

// info returns the server's process_id and db0 key count.
func (k *client) info(timeout time.Duration) (pid, keys int, err error) {
	k.out = resp.AppendCommand(k.out[:0], []byte("INFO"))
	if err := k.flush(timeout); err != nil {
		return 0, 0, err
	}
	text, err := k.reply()
	if err != nil {
		return 0, 0, err
	}
	pid, keys = -1, -1
	for line := range strings.SplitSeq(text, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			pid, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(line, "db0:keys="); ok {
			n, _, _ := strings.Cut(v, ",")
			keys, _ = strconv.Atoi(n)
		}
	}
	if pid < 0 || keys < 0 {
		return 0, 0, fmt.Errorf("INFO without process_id or db0:keys: %q", text)
	}
	return pid, keys, nil
}

func (k *client) flush(timeout time.Duration) error {
	_ = k.c.SetDeadline(time.Now().Add(timeout))
	_, err := k.c.Write(k.out)
	return err
}

// errNull is the reply to GET of a key that does not exist.
var errNull = errors.New("null")

// reply reads one simple, error or bulk reply; a RESP error is returned as
// an error, a null bulk as errNull.
func (k *client) reply() (string, error) {
	line, err := k.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("server: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "", errNull
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(k.r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

// writeKeys SETs keys from src and returns the pid of the server that took
// them.
func writeKeys(cfg config, src net.IP, si int, keys []string, s *summary, log io.Writer) (int, error) {
	k, err := dial(cfg, src)
	if err != nil {
		return 0, err
	}
	defer k.c.Close()
	pid, before, err := k.info(cfg.timeout)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(log, "conn %s pid %d (write)\n", k.c.LocalAddr(), pid)
	for start := 0; start < len(keys); start += cfg.batch {
		end := min(start+cfg.batch, len(keys))
		k.out = k.out[:0]
		for i := start; i < end; i++ {
			k.out = resp.AppendCommand(k.out, []byte("SET"), []byte(keys[i]), value(si, i, cfg.size))
		}
		if err := k.flush(cfg.timeout); err != nil {
			return 0, err
		}
		for i := start; i < end; i++ {
			r, err := k.reply()
			if err != nil {
				return 0, fmt.Errorf("SET %s: %w", keys[i], err)
			}
			if r != "OK" {
				return 0, fmt.Errorf("SET %s: reply %q", keys[i], r)
			}
			s.written++
		}
	}
	pid2, after, err := k.info(cfg.timeout)
	if err != nil {
		return 0, err
	}
	if pid2 != pid || after-before != len(keys) {
		return 0, fmt.Errorf("server pid %d had %d keys, then pid %d %d after %d SETs of new keys", pid, before, pid2, after, len(keys))
	}
	s.keysByPID[pid] += len(keys)
	s.sourcesByPID[pid] = append(s.sourcesByPID[pid], src.String())
	return pid, nil
}

// readKeys GETs keys from a new conn from src, which must reach server pid.
func readKeys(cfg config, src net.IP, si int, keys []string, pid int, s *summary, log io.Writer) error {
	k, err := dial(cfg, src)
	if err != nil {
		return err
	}
	defer k.c.Close()
	got, _, err := k.info(cfg.timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "conn %s pid %d (read)\n", k.c.LocalAddr(), got)
	if got != pid {
		return fmt.Errorf("the second conn reached pid %d, the first pid %d: the balancer does not keep a source on one server", got, pid)
	}
	for start := 0; start < len(keys); start += cfg.batch {
		end := min(start+cfg.batch, len(keys))
		k.out = k.out[:0]
		for i := start; i < end; i++ {
			k.out = resp.AppendCommand(k.out, []byte("GET"), []byte(keys[i]))
		}
		if err := k.flush(cfg.timeout); err != nil {
			return err
		}
		for i := start; i < end; i++ {
			r, err := k.reply()
			switch {
			case errors.Is(err, errNull):
				s.missing++
			case err != nil:
				return fmt.Errorf("GET %s: %w", keys[i], err)
			case r != string(value(si, i, cfg.size)):
				s.wrong++
			default:
				s.verified++
			}
		}
	}
	return nil
}
