package serve

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f := AddFlags(fs)
	require.NoError(t, fs.Parse(nil))
	var buf bytes.Buffer
	log, err := f.Logger(&buf)
	require.NoError(t, err)
	require.True(t, log.Enabled(context.Background(), slog.LevelInfo), "info by default")
	require.False(t, log.Enabled(context.Background(), slog.LevelDebug))
	opts, err := f.Options()
	require.NoError(t, err)
	require.Len(t, opts, 1, "the internet profile, and no PROXY trust list: the layer's default")
	o := reactor.NewOptions(opts...)
	require.Equal(t, reactor.InternetMaxConns, o.MaxConns)
	require.Equal(t, reactor.InternetIdleTimeout, o.IdleTimeout)
	require.Equal(t, reactor.InternetMaxOutbound, o.MaxOutbound)

	require.NoError(t, fs.Parse([]string{"-log-level", "debug", "-proxy-trusted", "10.0.0.0/8, 127.0.0.1/32"}))
	log, err = f.Logger(&buf)
	require.NoError(t, err)
	require.True(t, log.Enabled(context.Background(), slog.LevelDebug))
	opts, err = f.Options()
	require.NoError(t, err)
	require.Len(t, opts, 2)

	require.NoError(t, fs.Parse([]string{"-profile", "none"}))
	opts, err = f.Options()
	require.NoError(t, err)
	o = reactor.NewOptions(opts...)
	require.Zero(t, o.MaxConns, "the library's defaults")
	require.Equal(t, reactor.DefaultMaxOutbound, o.MaxOutbound)
	f.Profile = "lax"
	_, err = f.Options()
	require.ErrorContains(t, err, "-profile")
	f.Profile = "internet"

	for _, lv := range []string{"warn", "error", "WARN"} {
		f.LogLevel = lv
		_, err := f.Logger(&buf)
		require.NoError(t, err, lv)
	}
	f.LogLevel = "loud"
	_, err = f.Logger(&buf)
	require.ErrorContains(t, err, "-log-level")
	f.ProxyTrusted = "10.0.0.0/8,nope"
	_, err = f.Options()
	require.ErrorContains(t, err, "-proxy-trusted")
}

func TestNoUpgraderFor(t *testing.T) {
	flags := &Flags{}
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Addrs: []string{"tcp://127.0.0.1:0"}, Backend: "gnet", Flags: flags}, "-backend gnet"},
		{Config{Addrs: []string{"fd://3"}, Flags: flags}, "fd://"},
		{Config{Addrs: []string{"systemd://"}, Flags: flags}, "systemd://"},
		{Config{Addrs: []string{"fifo:///tmp/x"}, Flags: flags}, "fifo://"},
		// An inherited socket (transports.md's ?fd=N form) is served as is,
		// as fd://N is: upgrade.Listen refuses it.
		{Config{Addrs: []string{"tcp://127.0.0.1:7000?fd=3"}, Flags: flags}, "?fd="},
		{Config{Addrs: []string{"unix:///tmp/x.sock?proxy=optional&fd=3"}, Flags: flags}, "?fd="},
	} {
		up, why := newUpgrader(tc.cfg)
		require.Nil(t, up)
		require.Contains(t, why, tc.want)
	}
}

// lineWriter hands each write to a channel: Run's listening lines.
type lineWriter chan string

func (w lineWriter) Write(b []byte) (int, error) { w <- string(b); return len(b), nil }

// Without the upgrader (here: -backend gnet's rule; fd://, systemd:// and
// fifo:// take the same path) the pid file is written without following a
// link at its path, and removed at exit.
func TestPIDFileWithoutUpgrader(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	pidPath := filepath.Join(dir, "serve.pid")
	require.NoError(t, os.Symlink(victim, pidPath))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines := make(lineWriter, 4)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{
			Addrs:   []string{"tcp://127.0.0.1:0"},
			Backend: "gnet",
			Flags:   &Flags{PIDFile: pidPath},
			Logger:  slog.New(slog.DiscardHandler),
			Stdout:  lines,
			Start: func(addrs []string) (reactor.Engine, error) {
				return reactor.Start(reactor.BaseHandler{}, addrs, reactor.WithLoops(1), reactor.WithLogger(slog.New(slog.DiscardHandler)))
			},
		})
	}()
	select {
	case l := <-lines:
		require.Contains(t, l, "listening")
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line")
	}
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b), "the pid was written through the link")
	b, err = os.ReadFile(pidPath)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid()), strings.TrimSpace(string(b)))

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	_, err = os.Lstat(pidPath)
	require.ErrorIs(t, err, os.ErrNotExist, "the pid file is removed at exit")
}
