//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// persistent is the client side of TestUpgradesAnswerEveryRequest: conns
// that each send a request, wait for its echo and send the next, as a
// keep-alive client does. A conn is closed by its client only: once the
// test announces a new generation (gen) and the conn has had rotateAfter
// more answers, or after maxRequests requests (in case a conn dialed around
// a hand-over reached the old process, which would otherwise drain until
// its deadline); the next conn is dialed at once. Any error, an EOF from
// the server included, is a lost request.
type persistent struct {
	addr string
	gen  atomic.Int64 // bumped by the test once an old process drains

	sent, answered atomic.Int64
	// answeredAfter counts the answers that came, on a conn dialed before
	// the last bump, after it: served by a draining old process.
	answeredAfter atomic.Int64

	mu       sync.Mutex
	failures []error
}

const (
	rotateAfter = 3
	maxRequests = 1000
)

func (p *persistent) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, err)
}

// run keeps conn id busy until stop closes.
func (p *persistent) run(id int, stop <-chan struct{}) {
	req, got := make([]byte, 32), make([]byte, 32)
	for seq := 0; ; {
		c, err := net.DialTimeout("tcp", p.addr, cmdtest.WaitLimit)
		if err != nil {
			p.fail(fmt.Errorf("conn %d: %w", id, err))
			return
		}
		dialGen, after := p.gen.Load(), 0
		for n := 0; n < maxRequests; n++ {
			select {
			case <-stop:
				c.Close()
				return
			default:
			}
			msg := strconv.Itoa(id) + ":" + strconv.Itoa(seq) + ":"
			copy(req, bytes.Repeat([]byte(msg), len(req)/len(msg)+1))
			req[len(req)-1] = '\n'
			seq++
			c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
			p.sent.Add(1)
			_, err := c.Write(req)
			if err == nil {
				_, err = io.ReadFull(c, got)
			}
			if err == nil && !bytes.Equal(got, req) {
				err = fmt.Errorf("echoed %q, want %q", got, req)
			}
			if err != nil {
				p.fail(fmt.Errorf("conn %d, request %d of the conn, %d in all: %w", id, n, seq-1, err))
				c.Close()
				return
			}
			p.answered.Add(1)
			if p.gen.Load() != dialGen {
				p.answeredAfter.Add(1)
				if after++; after == rotateAfter {
					break
				}
			}
		}
		c.Close()
	}
}

// TestUpgradesAnswerEveryRequest: 20 persistent conns keep sending through
// 3 upgrades and every request is answered. Once a new process serves, the
// old one stops accepting but serves its open conns on (each answers more
// requests after the old process began to drain), until their clients
// close them and dial again, which the new process serves meanwhile; the
// old process then exits on its own, well before its -drain-timeout. Before
// the drain, the old process closed its conns as soon as the new one
// served, and the requests they carried got no answer.
func TestUpgradesAnswerEveryRequest(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-drain-timeout", "15s")
	first := u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	serving := u.ServingPid(0)

	p := &persistent{addr: addr}
	const conns = 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); p.run(i, stop) }()
	}
	stopped := false
	stopClients := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopClients()
	failed := func() []error {
		p.mu.Lock()
		defer p.mu.Unlock()
		return append([]error(nil), p.failures...)
	}
	// progress waits for the conns to have n more answers.
	progress := func(what string, n int64) {
		t.Helper()
		from := p.answered.Load()
		require.Eventually(t, func() bool {
			return p.answered.Load() >= from+n || len(failed()) > 0
		}, cmdtest.WaitLimit, time.Millisecond, what)
		require.Empty(t, failed(), what)
	}
	progress("before the first upgrade", 10*conns)

	for up := 1; up <= 3; up++ {
		old := serving
		require.NoError(t, syscall.Kill(old, syscall.SIGHUP))
		require.Equal(t, first, u.Line(), "upgrade %d: the new process listens on the same address", up)
		serving = u.ServingPid(old)
		u.Logged(fmt.Sprintf(`msg="upgrade: the new process serves; draining" pid=%d`, old))
		// The old process drains. Its conns are answered on, and then
		// closed by their clients, who dial the new process.
		before := p.answeredAfter.Load()
		p.gen.Add(1)
		u.Gone(old)
		require.Empty(t, failed(), "upgrade %d", up)
		require.Contains(t, u.Stderr(), fmt.Sprintf(`msg="upgrade: every conn has ended" pid=%d`, old),
			"upgrade %d: the old process drained until its conns ended", up)
		require.GreaterOrEqual(t, p.answeredAfter.Load()-before, int64(conns),
			"upgrade %d: the old process answered its conns on after the new one served", up)
		// The next upgrade is refused until the new process has seen the
		// old one exit.
		u.Logged(fmt.Sprintf(`msg="upgrade: the old process has exited" pid=%d`, serving))
		progress(fmt.Sprintf("after upgrade %d", up), 10*conns)
	}
	stopClients()
	require.Empty(t, failed(), "requests lost")
	require.Equal(t, p.sent.Load(), p.answered.Load(), "every request sent was answered")
	require.NotContains(t, u.Stderr(), "drain timeout")
	t.Logf("%d requests answered on %d persistent conns through 3 upgrades, %d of them by a draining old process",
		p.answered.Load(), conns, p.answeredAfter.Load())

	require.NoError(t, syscall.Kill(serving, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
}
