package serve

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/upgrade"
)

// TestDrainTimeoutFlag: -drain-timeout defaults to upgrade's default (30s,
// long enough for real clients), takes 0 (no drain) and refuses a negative
// duration at parse time.
func TestDrainTimeoutFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := AddFlags(fs)
	require.NoError(t, fs.Parse(nil))
	require.Equal(t, upgrade.DefaultDrainTimeout, f.DrainTimeout)
	require.Equal(t, 30*time.Second, f.DrainTimeout)
	for _, tc := range []struct {
		arg  string
		want time.Duration
	}{{"0", 0}, {"250ms", 250 * time.Millisecond}, {"2m", 2 * time.Minute}} {
		require.NoError(t, fs.Parse([]string{"-drain-timeout", tc.arg}))
		require.Equal(t, tc.want, f.DrainTimeout)
	}
	for _, bad := range []string{"-1s", "soon"} {
		require.Error(t, fs.Parse([]string{"-drain-timeout", bad}), bad)
	}
	require.Equal(t, 2*time.Minute, f.DrainTimeout, "a refused value changes nothing")
	var usage bytes.Buffer
	fs.SetOutput(&usage)
	fs.PrintDefaults()
	require.Contains(t, usage.String(), "(default 30s)")
}

type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// TestHandOver: the old process's drain serves its conns on once it has
// begun, and ends when they do, at -drain-timeout, at once for 0, or when
// a stop signal comes (ctx); it says which in the log.
func TestHandOver(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		end     func(c net.Conn, cancel context.CancelFunc) // ends the drain, or nil
		logged  string
	}{
		{"conns end", time.Minute, func(c net.Conn, _ context.CancelFunc) { c.Close() }, `msg="upgrade: every conn has ended"`},
		{"timeout", 50 * time.Millisecond, nil, `msg="upgrade: drain timeout; closing the conns left" pid=`},
		{"stop signal", time.Minute, func(_ net.Conn, cancel context.CancelFunc) { cancel() }, `msg="upgrade: drain cut short; closing the conns left"`},
		{"no drain", 0, nil, `msg="upgrade: the new process serves; draining"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng, err := reactor.Start(echo{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1),
				reactor.WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			defer func() {
				stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				eng.Stop(stopCtx)
				<-eng.Done()
			}()
			c, err := net.DialTimeout("tcp", eng.Addrs()[0].String(), 5*time.Second)
			require.NoError(t, err)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			echoed := func() {
				t.Helper()
				_, err := c.Write([]byte("ping"))
				require.NoError(t, err)
				got := make([]byte, 4)
				_, err = io.ReadFull(c, got)
				require.NoError(t, err)
				require.Equal(t, "ping", string(got))
			}
			echoed()
			require.Eventually(t, func() bool { return eng.Conns() == 1 }, 5*time.Second, time.Millisecond)

			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() { defer close(done); handOver(ctx, eng, tc.timeout, log) }()
			if tc.timeout > 0 {
				select {
				case <-eng.Stopping():
				case <-time.After(5 * time.Second):
					t.Fatal("the drain did not begin")
				}
				echoed() // served on during the drain
			}
			if tc.end != nil {
				tc.end(c, cancel)
			}
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("handOver did not return")
			}
			require.Contains(t, logs.String(), tc.logged)
			if tc.name != "conns end" {
				echoed() // the conn is open still: Run's Stop closes it
			}
		})
	}
}
