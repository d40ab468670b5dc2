package gnetbackend_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// The gnet backend tells a Type=notify service manager READY=1 once it
// serves and STOPPING=1 when it begins to stop, as the native one does.
func TestSystemdNotify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	defer notify.Close()
	t.Setenv("NOTIFY_SOCKET", path)

	e, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(gnetbackend.New()), reactor.WithLoops(1))
	require.NoError(t, err)
	require.NoError(t, notify.SetDeadline(time.Now().Add(10*time.Second)))
	buf := make([]byte, 64)
	n, err := notify.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "READY=1", string(buf[:n]))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, e.Stop(ctx))
	n, err = notify.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "STOPPING=1", string(buf[:n]))
}
