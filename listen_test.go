package evloop_test

// What Start binds and refuses, on every backend.

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// A unix:// address holding a file, a directory or a live server's socket
// is refused, and what was there is left alone.
func TestUnixPathThatIsNotAStaleSocket(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		file := filepath.Join(dir, "precious.txt")
		require.NoError(t, os.WriteFile(file, []byte("data"), 0o600))
		tree := filepath.Join(dir, "tree")
		require.NoError(t, os.MkdirAll(filepath.Join(tree, "sub"), 0o700))
		live := filepath.Join(dir, "live.sock")
		ln, err := net.Listen("unix", live)
		require.NoError(t, err)
		defer ln.Close()

		for _, p := range []string{file, tree, live} {
			e, err := reactor.Start(reactor.BaseHandler{}, []string{"unix://" + p}, append(b.opts, reactor.WithLogger(discardLogger()))...)
			if err == nil {
				stop(t, e)
			}
			require.Error(t, err, "Start on %s", p)
		}
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, "data", string(data))
		_, err = os.Stat(filepath.Join(tree, "sub"))
		require.NoError(t, err, "the directory tree is still there")
		c, err := net.Dial("unix", live)
		require.NoError(t, err, "the live server still has its socket")
		c.Close()
	})
}

// A Start that fails on its second address leaves the first one free.
func TestFailedStartReleasesEarlierAddresses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer busy.Close()
		free, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		freeAddr := free.Addr().String()
		free.Close()

		_, err = reactor.Start(reactor.BaseHandler{}, []string{"tcp://" + freeAddr, "tcp://" + busy.Addr().String()},
			append(b.opts, reactor.WithLogger(discardLogger()))...)
		require.Error(t, err)
		again, err := net.Listen("tcp", freeAddr)
		require.NoError(t, err, "the first address is still bound after the failed Start")
		again.Close()
	})
}

// A second server on a UDP port already served fails to start, as one on a
// TCP port does, instead of silently sharing (and taking) the datagrams.
func TestUDPPortInUseIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		first := start(t, reactor.BaseHandler{}, "udp://127.0.0.1:0", b)
		_, err := reactor.Start(reactor.BaseHandler{}, []string{"udp://" + first.Addrs()[0].String()},
			append(b.opts, reactor.WithLogger(discardLogger()))...)
		require.Error(t, err)
	})
}
