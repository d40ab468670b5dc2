//go:build unix

package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// echoOnce dials addr, sends one message and reads it back. A conn closed
// before its reply (EOF: a graceful close) is reported apart from failures,
// which are refusals, resets and wrong bytes: since the old process drains,
// no conn should be closed so, but an upgrade without a drain does it.
func echoOnce(addr string, i int) (closedEarly bool, err error) {
	c, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	if err != nil {
		return false, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	msg := fmt.Sprintf("message %d\n", i)
	if _, err := c.Write([]byte(msg)); err != nil {
		return false, err
	}
	got := make([]byte, len(msg))
	n, err := io.ReadFull(c, got)
	if errors.Is(err, io.EOF) && n == 0 {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if string(got) != msg {
		return false, fmt.Errorf("echoed %q, want %q", got, msg)
	}
	return false, nil
}

// TestUpgradeBySIGHUP upgrades echo while a client holds a conn and others
// keep dialing: the new process prints the same listening line and takes
// over; the old one drains: it echoes on the held conn, and once its
// -drain-timeout has passed, closes it gracefully (EOF after every byte
// came back, no reset) and exits 0; no dial fails, and none is closed
// before its reply.
func TestUpgradeBySIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	// The uring backend serves the inherited sockets as native does.
	for _, be := range []string{"native", "uring"} {
		t.Run(be, func(t *testing.T) { testUpgradeBySIGHUP(t, bin, be) })
	}
}

func testUpgradeBySIGHUP(t *testing.T, bin, be string) {
	const drainTimeout = 2 * time.Second
	u := cmdtest.StartUpgradable(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-log-level", "debug", "-drain-timeout", drainTimeout.String(), "-backend", be)
	first := u.Line()
	addr, ok := strings.CutPrefix(first, "listening tcp://")
	require.True(t, ok, "first line %q", first)
	oldPid := u.ServingPid(0)
	require.Equal(t, u.FirstPid(), oldPid)

	held, err := net.DialTimeout("tcp", addr, cmdtest.WaitLimit)
	require.NoError(t, err)
	defer held.Close()
	held.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
	echoHeld := func() {
		t.Helper()
		sent := []byte(strings.Repeat("held conn ", 1000))
		_, err = held.Write(sent)
		require.NoError(t, err)
		back := make([]byte, len(sent))
		_, err = io.ReadFull(held, back)
		require.NoError(t, err)
		require.Equal(t, sent, back)
	}
	echoHeld()

	// Dial continuously through the upgrade.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var dials, early int
	var failures []error
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				closedEarly, err := echoOnce(addr, i)
				mu.Lock()
				dials++
				if closedEarly {
					early++
				}
				if err != nil {
					failures = append(failures, err)
				}
				mu.Unlock()
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	require.NoError(t, syscall.Kill(oldPid, syscall.SIGHUP))
	require.Equal(t, first, u.Line(), "the new process listens on the same address")
	newPid := u.ServingPid(oldPid)

	// The old process drains: it serves the held conn on, and past the
	// drain timeout closes it gracefully, with a clean EOF.
	u.Logged(fmt.Sprintf(`msg="upgrade: the new process serves; draining" pid=%d conns=`, oldPid))
	drainBegan := time.Now()
	echoHeld()
	rest, err := io.ReadAll(held)
	require.NoError(t, err, "a graceful close, not a reset")
	require.Empty(t, rest)
	require.GreaterOrEqual(t, time.Since(drainBegan), drainTimeout/2, "closed before the drain timeout")
	require.Equal(t, 0, u.FirstExited(), "the old process exits 0")
	require.Contains(t, u.Stderr(), fmt.Sprintf(`msg="upgrade: drain timeout; closing the conns left" pid=%d conns=1`, oldPid))

	// Dials go on to the new process alone for a while.
	mu.Lock()
	before := dials
	mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return dials >= before+50
	}, cmdtest.WaitLimit, 5*time.Millisecond)
	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	require.Empty(t, failures, "refused, reset or wrong bytes during the upgrade")
	require.Zero(t, early, "conns closed before their reply, of %d dials through the upgrade", dials)
	require.NoError(t, func() error { _, err := echoOnce(addr, -1); return err }())

	// The new process debug-logs conns with the client's address and stops
	// on SIGTERM; its end closes the shared stdout.
	require.NoError(t, syscall.Kill(newPid, syscall.SIGTERM))
	require.Empty(t, u.Rest(), "no more stdout")
	logs := u.Stderr()
	require.Contains(t, logs, `msg="conn opened" remote=127.0.0.1:`)
	require.Contains(t, logs, fmt.Sprintf(`msg="upgrade: serving the sockets of the old process" pid=%d`, newPid))
}

// TestGnetIgnoresSIGHUP: the gnet backend cannot serve inherited sockets,
// so SIGHUP is ignored with a message and the process serves on.
func TestGnetIgnoresSIGHUP(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "1", "-backend", "gnet")
	require.NoError(t, syscall.Kill(p.Pid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return strings.Contains(p.Stderr(), "SIGHUP ignored: -backend gnet cannot serve inherited sockets")
	}, cmdtest.WaitLimit, 5*time.Millisecond, "stderr: %s", p.Stderr())
	_, err := echoOnce(p.Addr("tcp"), 0)
	require.NoError(t, err)
	p.Stop(syscall.SIGTERM)
}

// TestBinaryBehindAProxy: with ?proxy=required, -proxy-trusted and
// -log-level debug, a header from a trusted balancer gives the handler the
// client's address, which the debug log shows; an untrusted source is
// refused.
func TestBinaryBehindAProxy(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	for _, tc := range []struct {
		trusted string
		served  bool
	}{{"127.0.0.0/8", true}, {"any", true}, {"10.0.0.0/8,192.168.0.0/16", false}} {
		p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0?proxy=required", "-proxy-trusted", tc.trusted, "-loops", "1", "-log-level", "debug")
		c, err := net.DialTimeout("tcp", p.Addr("tcp"), cmdtest.WaitLimit)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(cmdtest.WaitLimit))
		_, err = c.Write([]byte("PROXY TCP4 198.51.100.9 127.0.0.1 40000 7000\r\nbehind"))
		require.NoError(t, err)
		// Served: the echo, then our close; refused: the server's close.
		got := make([]byte, len("behind"))
		n, _ := io.ReadFull(c, got)
		got = got[:n]
		c.Close()
		if tc.served {
			require.Equal(t, "behind", string(got), "the data after the header, echoed")
			require.Eventually(t, func() bool {
				return strings.Contains(p.Stderr(), `msg="conn closed" remote=198.51.100.9:40000 cause=clean`)
			}, cmdtest.WaitLimit, 5*time.Millisecond, "stderr: %s", p.Stderr())
			require.Contains(t, p.Stderr(), `msg="conn opened" remote=198.51.100.9:40000`)
		} else {
			require.Empty(t, got, "a header from an untrusted source is refused")
			require.NotContains(t, p.Stderr(), "198.51.100.9")
		}
		p.Stop(syscall.SIGTERM)
	}
}
