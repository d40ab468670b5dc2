package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/examples/internal/cmdtest"
	"github.com/evloop/evloop/reactor"
)

// The hostile-conns test: the echo binary, serving with its default
// -profile internet, is held by N conns that are silent, slow (a byte now
// and then) or never read what they are sent back; the server's resident
// memory must stay under hostileRSSBound(N) all along, on both backends.
//
// N is 2,000 in the test suite (about 15 s); the full form holds 10,000
// (the profile's conn cap) and takes about a minute:
//
//	EVLOOP_HOSTILE_CONNS=10000 go test -run TestHostileConnsRSS -v ./examples/echo/
//
// Each never-reading conn sends hostileSend bytes, more than the kernel
// buffers between it and the server take, so that the server buffers what
// it echoes up to its high watermark and stops reading it.
const (
	hostileSend = 192 << 10
	hostileHold = 3 * time.Second // how long RSS is watched once all is sent
)

// hostileRSSBound is the stated bound: 64 MiB for the process (the Go
// runtime, the loops, code) plus, per conn, 32 KiB. That is what the
// profile allows: a third of the conns never read and may each hold
// InternetWriteHigh plus one read (64 KiB: 21 KiB per conn of the whole)
// on the native backend; the gnet backend also holds their unread input
// (see reactor.WithInternetProfile). The silent and slow thirds hold a
// conn record each.
func hostileRSSBound(n int) int64 { return 64<<20 + int64(n)*(32<<10) }

func hostileConns(t *testing.T) int {
	n := 2000
	if s := os.Getenv("EVLOOP_HOSTILE_CONNS"); s != "" {
		v, err := strconv.Atoi(s)
		require.NoError(t, err, "EVLOOP_HOSTILE_CONNS")
		n = v
	}
	return n
}

func TestHostileConnsRSS(t *testing.T) {
	n := hostileConns(t)
	var lim unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &lim))
	need := uint64(n + 512)
	if lim.Max < need {
		t.Skipf("RLIMIT_NOFILE hard limit %d: %d conns need %d", lim.Max, n, need)
	}
	if lim.Cur < need {
		raised := unix.Rlimit{Cur: need, Max: lim.Max}
		require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &raised))
		defer unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	bin := cmdtest.Build(t, "echo")
	for _, be := range []string{"native", "gnet"} {
		t.Run(be, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-backend", be)
			addr := p.Addr("tcp")
			// The server raises its own soft limit to the hard one (Go does
			// at start); make sure the hard one is enough.
			srvLim := unix.Rlimit{Cur: need, Max: need}
			var old unix.Rlimit
			require.NoError(t, unix.Prlimit(p.Pid(), unix.RLIMIT_NOFILE, nil, &old))
			if old.Cur < need {
				require.NoError(t, unix.Prlimit(p.Pid(), unix.RLIMIT_NOFILE, &srvLim, nil))
			}
			base := vmRSS(t, p.Pid())

			h := &hostile{t: t}
			defer h.close()
			start := time.Now()
			for i := 0; i < n; i++ {
				h.open(addr, i%3)
			}
			// Every conn accepted: the server holds an fd for each.
			for end := time.Now().Add(20 * time.Second); openFds(t, p.Pid()) < n; {
				require.True(t, time.Now().Before(end), "the server accepted %d of %d conns", openFds(t, p.Pid()), n)
				time.Sleep(20 * time.Millisecond)
			}
			opened := time.Since(start)
			peak := base
			watch := func() {
				if r := vmRSS(t, p.Pid()); r > peak {
					peak = r
				}
			}
			// Send until every never-reader has sent hostileSend bytes (or
			// the kernel takes no more), a byte to each slow conn a round.
			deadline := time.Now().Add(20 * time.Second)
			for h.sending() && time.Now().Before(deadline) {
				h.round()
				watch()
				time.Sleep(20 * time.Millisecond)
			}
			sent := h.sent
			for end := time.Now().Add(hostileHold); time.Now().Before(end); {
				h.round()
				watch()
				time.Sleep(100 * time.Millisecond)
			}
			bound := hostileRSSBound(n)
			t.Logf("%d conns (%s to open), %d MiB sent by the never-readers; server RSS %.1f MiB before, peak %.1f MiB, bound %.1f MiB",
				n, opened.Round(time.Millisecond), sent>>20, mib(base), mib(peak), mib(bound))
			require.LessOrEqual(t, peak, bound, "server RSS")

			// The server still serves (below the conn cap), or refuses
			// conns over it.
			c := h.dial(addr, 0)
			require.NoError(t, unix.SetNonblock(c.fd, false))
			msg := []byte("still here")
			_, err := unix.Write(c.fd, msg)
			require.NoError(t, err)
			got := make([]byte, 64)
			tv := unix.NsecToTimeval(int64(10 * time.Second))
			require.NoError(t, unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv))
			k, err := unix.Read(c.fd, got)
			if n < reactor.InternetMaxConns {
				require.NoError(t, err)
				require.Equal(t, msg, got[:k], "echo on a fresh conn")
			} else {
				require.True(t, err != nil || k == 0, "a conn over the cap is closed")
			}
			unix.Close(c.fd)
			h.close()
			require.NoError(t, unix.Kill(p.Pid(), 0), "the server lives")
		})
	}
}

// hostile holds the conns: raw blocking-connect sockets, turned
// nonblocking, so that holding thousands costs this process next to
// nothing and no goroutine each.
type hostile struct {
	t     *testing.T
	conns []*hconn
	sent  int64
	chunk []byte
}

// A conn's kind: 0 silent, 1 slow, 2 never reads.
type hconn struct {
	fd, kind int
	sent     int
	full     bool // the kernel took no more
}

func (h *hostile) dial(addr string, kind int) *hconn {
	h.t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	ip, err := parseIPv4(host)
	require.NoError(h.t, err)
	pn, err := strconv.Atoi(port)
	require.NoError(h.t, err)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	require.NoError(h.t, err)
	if kind == 2 {
		// A small receive window: the server's echo stops at once.
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4096)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: pn, Addr: ip}); err != nil {
		unix.Close(fd)
		require.NoError(h.t, err, "connect")
	}
	require.NoError(h.t, unix.SetNonblock(fd, true))
	return &hconn{fd: fd, kind: kind}
}

func (h *hostile) open(addr string, kind int) { h.conns = append(h.conns, h.dial(addr, kind)) }

// sending tells whether a never-reader has more to send.
func (h *hostile) sending() bool {
	for _, c := range h.conns {
		if c.kind == 2 && !c.full && c.sent < hostileSend {
			return true
		}
	}
	return false
}

// round sends a byte on each slow conn and, on each never-reader, what
// the kernel takes of the rest of its hostileSend bytes.
func (h *hostile) round() {
	if h.chunk == nil {
		h.chunk = bytes.Repeat([]byte("h"), 64<<10)
	}
	for _, c := range h.conns {
		switch c.kind {
		case 1:
			unix.Write(c.fd, h.chunk[:1])
		case 2:
			for !c.full && c.sent < hostileSend {
				k, err := unix.Write(c.fd, h.chunk[:min(len(h.chunk), hostileSend-c.sent)])
				if err != nil || k <= 0 {
					c.full = err != unix.EAGAIN // gone (closed by the server): stop
					break
				}
				c.sent += k
				h.sent += int64(k)
			}
		}
	}
}

func (h *hostile) close() {
	for _, c := range h.conns {
		unix.Close(c.fd)
	}
	h.conns = nil
}

func parseIPv4(s string) ([4]byte, error) {
	var ip [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return ip, fmt.Errorf("%q: not an IPv4 address", s)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 255 {
			return ip, fmt.Errorf("%q: not an IPv4 address", s)
		}
		ip[i] = byte(v)
	}
	return ip, nil
}

// vmRSS is a process's resident set size, from /proc/PID/status.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// openFds counts a process's open fds.
func openFds(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(ents)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
