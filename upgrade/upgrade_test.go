//go:build unix

package upgrade_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/upgrade"
)

type echo struct{ reactor.BaseHandler }

func (echo) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

// childEnv names the test a child process of the test binary runs.
const childEnv = "EVLOOP_UPGRADE_TEST_CHILD"

// inChild runs body in a child process of the test binary: tableflip allows
// one Upgrader per process, so each test that makes one has a process of
// its own, and the package passes with -count=N. The upgrade itself is
// tested through the example binaries (examples/echo).
func inChild(t *testing.T, body func(t *testing.T)) {
	if os.Getenv(childEnv) == t.Name() {
		body(t)
		return
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "the child process:\n%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name(), "the child ran the test:\n%s", out)
}

func TestListen(t *testing.T) { inChild(t, testListen) }

func testListen(t *testing.T) {
	up, err := upgrade.New(upgrade.Options{})
	require.NoError(t, err)
	require.False(t, up.HasParent())
	_, err = upgrade.New(upgrade.Options{})
	require.Error(t, err, "one Upgrader per process")

	sock := filepath.Join(t.TempDir(), "s.sock")
	in := []string{"tcp://127.0.0.1:0", "tcp://127.0.0.1:0?proxy=optional", "unix://" + sock, "udp://127.0.0.1:0"}
	addrs, err := up.Listen(in)
	require.NoError(t, err)
	require.Len(t, addrs, len(in))
	for i, a := range addrs {
		require.True(t, strings.HasPrefix(a, in[i]), "%q keeps %q", a, in[i])
		pa, err := reactor.ParseAddr(a)
		require.NoError(t, err, a)
		_, ok := pa.InheritedFD()
		require.True(t, ok, "%q names its socket", a)
	}
	require.Contains(t, addrs[1], "proxy=optional&fd=")

	// tls:// is bound as tcp, tls+unix:// as unix; the address keeps its
	// scheme for reactor's TLS layer.
	tlsAddrs, err := up.Listen([]string{"tls://127.0.0.1:0", "tls+unix://" + sock + ".tls"})
	require.NoError(t, err)
	for _, a := range tlsAddrs {
		pa, err := reactor.ParseAddr(a)
		require.NoError(t, err, a)
		require.True(t, strings.HasPrefix(pa.Scheme, "tls"), a)
		fd, ok := pa.InheritedFD()
		require.True(t, ok, a)
		require.NoError(t, os.NewFile(uintptr(fd), a).Close())
	}

	for _, bad := range []string{"fd://3", "fifo:///tmp/x", "systemd://", "tcp://127.0.0.1:0?fd=3"} {
		_, err := up.Listen([]string{bad})
		require.ErrorIs(t, err, upgrade.ErrUnsupported, bad)
	}

	e, err := reactor.Start(echo{}, addrs, reactor.WithLoops(1), reactor.WithLogger(slog.New(slog.DiscardHandler)),
		reactor.WithProxy(reactor.WithProxyTrustAny()))
	require.NoError(t, err)
	require.NoError(t, up.Ready())
	for _, a := range e.Addrs()[:1] {
		c, err := net.DialTimeout(a.Network(), a.String(), 5*time.Second)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Write([]byte("inherited"))
		require.NoError(t, err)
		got := make([]byte, 9)
		_, err = io.ReadFull(c, got)
		require.NoError(t, err)
		require.Equal(t, "inherited", string(got))
		c.Close()
	}
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	require.NoError(t, err)
	c.Close()

	stop := make(chan error, 1)
	go func() { stop <- e.Stop(t.Context()) }()
	select {
	case err := <-stop:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("no stop")
	}
	_, err = os.Lstat(sock)
	require.NoError(t, err, "the engine leaves the path: the next process may serve it")
	up.Stop()
	select {
	case <-up.Exit():
	default:
		t.Fatal("Exit is closed once Stop returns")
	}
	_, err = os.Lstat(sock)
	require.True(t, errors.Is(err, os.ErrNotExist), "a plain shutdown removes the socket file: %v", err)
	require.Error(t, up.Upgrade(), "no upgrade after Stop")
}

// A unix path is bound by the reactor's rule: a stale socket file (a server
// killed with SIGKILL) is replaced; a live server's socket (even one whose
// backlog is full) and a file that is no socket are left, and refused.
func TestListenReplacesStaleUnixSocket(t *testing.T) { inChild(t, testListenStaleUnix) }

func testListenStaleUnix(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "crashed.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	require.NoError(t, err)
	ln.SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("keep"), 0o600))
	live := filepath.Join(dir, "live.sock")
	liveLn, err := net.Listen("unix", live)
	require.NoError(t, err)
	defer liveLn.Close()

	up, err := upgrade.New(upgrade.Options{})
	require.NoError(t, err)
	defer up.Stop()
	addrs, err := up.Listen([]string{"unix://" + stale})
	require.NoError(t, err, "a crashed server's socket file is replaced")
	pa, err := reactor.ParseAddr(addrs[0])
	require.NoError(t, err)
	fd, _ := pa.InheritedFD()
	require.NoError(t, os.NewFile(uintptr(fd), stale).Close())
	c, err := net.DialTimeout("unix", stale, 5*time.Second)
	require.NoError(t, err, "the new socket listens")
	c.Close()

	for _, p := range []string{file, live} {
		_, err := up.Listen([]string{"unix://" + p})
		require.ErrorIs(t, err, syscall.EADDRINUSE, p)
	}
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b))
	c, err = net.DialTimeout("unix", live, 5*time.Second)
	require.NoError(t, err, "the live server keeps its socket")
	c.Close()
}

// The pid file is written by Ready without following a link at its path,
// and Stop removes it while it names this process; after an upgrade it
// names the successor, and stays.
func TestPIDFile(t *testing.T) { inChild(t, testPIDFile) }

func testPIDFile(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o600))
	pidPath := filepath.Join(dir, "x.pid")
	require.NoError(t, os.Symlink(victim, pidPath))

	up, err := upgrade.New(upgrade.Options{PIDFile: pidPath})
	require.NoError(t, err)
	require.NoError(t, up.Ready())
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(b), "the pid was written through the link")
	b, err = os.ReadFile(pidPath)
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(os.Getpid()), strings.TrimSpace(string(b)))
	up.Stop()
	_, err = os.Lstat(pidPath)
	require.ErrorIs(t, err, os.ErrNotExist, "Stop removes the pid file")
}

// A pid file that names another process (the successor, after an upgrade)
// is left by Stop.
func TestPIDFileOfSuccessorStays(t *testing.T) { inChild(t, testPIDFileOfSuccessor) }

func testPIDFileOfSuccessor(t *testing.T) {
	pidPath := filepath.Join(t.TempDir(), "x.pid")
	up, err := upgrade.New(upgrade.Options{PIDFile: pidPath})
	require.NoError(t, err)
	require.NoError(t, up.Ready())
	require.NoError(t, os.WriteFile(pidPath, []byte("1\n"), 0o644)) // the successor's
	up.Stop()
	b, err := os.ReadFile(pidPath)
	require.NoError(t, err, "Stop removed the successor's pid file")
	require.Equal(t, "1\n", string(b))
}
