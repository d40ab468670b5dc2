package serve

import (
	"bytes"
	"context"
	"flag"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
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
	require.Empty(t, opts, "no PROXY trust list: the layer's default")

	require.NoError(t, fs.Parse([]string{"-log-level", "debug", "-proxy-trusted", "10.0.0.0/8, 127.0.0.1/32"}))
	log, err = f.Logger(&buf)
	require.NoError(t, err)
	require.True(t, log.Enabled(context.Background(), slog.LevelDebug))
	opts, err = f.Options()
	require.NoError(t, err)
	require.Len(t, opts, 1)

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
	} {
		up, why := newUpgrader(tc.cfg)
		require.Nil(t, up)
		require.Contains(t, why, tc.want)
	}
}
