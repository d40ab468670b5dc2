//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

func TestEchoTCP(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(4))
	const conns, rounds = 50, 5
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	sent := 0
	var clients []net.Conn
	for i := 0; i < conns; i++ {
		c := dial(t, e, 0)
		clients = append(clients, c)
		msg := []byte(fmt.Sprintf("hello from %d, padded %0100d", i, i))
		sent += rounds * len(msg)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < rounds; j++ {
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				got := make([]byte, len(msg))
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if string(got) != string(msg) {
					errs <- fmt.Errorf("conn %d: echo mismatch", i)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, conns, e.Conns())
	require.EqualValues(t, conns, e.Stats().Open)
	// The counters are updated after the write that the peer may already
	// have read: close and wait for every OnClose, which runs after them
	// on the same loops.
	for _, c := range clients {
		c.Close()
	}
	for i := 0; i < conns; i++ {
		require.NoError(t, within(t, r.closed, "OnClose").err)
	}
	r.requireLifecycles(t)
	st := e.Stats()
	require.EqualValues(t, conns, st.Accepted)
	require.EqualValues(t, conns, st.Closed)
	require.EqualValues(t, 0, st.Open)
	require.Equal(t, 0, e.Conns())
	require.EqualValues(t, sent, st.BytesIn)
	require.EqualValues(t, sent, st.BytesOut)
	require.NotEmpty(t, st.Loop)
}

func TestEchoUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.sock")
	r := newRecorder()
	e := start(t, r, []string{"unix://" + path})
	a := e.Addrs()[0]
	require.Equal(t, "unix", a.Network())
	require.Equal(t, path, a.String())
	c := dial(t, e, 0)
	require.Equal(t, "unix message", string(roundTrip(t, c, []byte("unix message"))))
	oc := within(t, r.opened, "OnOpen")
	require.Equal(t, path, oc.LocalAddr().String())
	require.NoError(t, c.Close())
	ev := within(t, r.closed, "OnClose")
	require.NoError(t, ev.err)
}

func TestEchoUDP(t *testing.T) {
	r := newRecorder()
	e := start(t, r, []string{"udp://127.0.0.1:0"})
	a := e.Addrs()[0]
	require.Equal(t, "udp", a.Network())
	c, err := net.DialTimeout("udp", a.String(), waitLimit)
	require.NoError(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(waitLimit))
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("datagram %d", i)
		_, err := c.Write([]byte(msg))
		require.NoError(t, err)
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		require.Equal(t, msg, string(buf[:n]))
	}
	// Datagrams are never opened, so never counted as conns.
	require.Equal(t, 0, e.Conns())
	require.Empty(t, r.opened)
}
