package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/reactor"
	_ "github.com/evloop/evloop/reactor/systemd" // systemd:// addresses
	"github.com/evloop/evloop/reactor/uringbackend"
)

// dupFD returns a fd of our own for f's socket and closes f, the way a
// parent process would pass a socket on.
func dupFD(t *testing.T, f *os.File) int {
	t.Helper()
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	require.NoError(t, err)
	return fd
}

func requireFDClosed(t *testing.T, fd int) {
	t.Helper()
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.ErrorIs(t, err, unix.EBADF, "fd %d should be closed", fd)
}

func TestFDAddressServesInheritedSockets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	ln.Close()
	tcpFD := dupFD(t, lf) // blocking now (File made it so): the engine must fix that

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	pf, err := pc.(*net.UDPConn).File()
	require.NoError(t, err)
	pc.Close()
	udpFD := dupFD(t, pf)

	h := newTPHandler()
	e := tpStart(t, h, []string{"fd://" + strconv.Itoa(tcpFD), "fd://" + strconv.Itoa(udpFD)}, reactor.WithLoops(2))
	for _, fd := range []int{tcpFD, udpFD} {
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		require.NoError(t, err)
		require.NotZero(t, flags&unix.O_NONBLOCK, "inherited fds are made nonblocking")
		fdFlags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		require.NoError(t, err)
		require.NotZero(t, fdFlags&unix.FD_CLOEXEC, "and close-on-exec")
	}
	addrs := e.Addrs()
	require.Len(t, addrs, 2)
	require.Equal(t, "tcp", addrs[0].Network())
	require.Equal(t, "udp", addrs[1].Network())

	c, err := net.DialTimeout("tcp", addrs[0].String(), tpBound)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(tpBound))
	_, err = c.Write([]byte("over fd://"))
	require.NoError(t, err)
	got := make([]byte, 10)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "over fd://", string(got))
	c.Close()

	u, err := net.Dial("udp", addrs[1].String())
	require.NoError(t, err)
	defer u.Close()
	u.SetDeadline(time.Now().Add(tpBound))
	_, err = u.Write([]byte("datagram"))
	require.NoError(t, err)
	n, err := u.Read(got)
	require.NoError(t, err)
	require.Equal(t, "datagram", string(got[:n]))

	require.NoError(t, tpStop(t, e))
	requireFDClosed(t, tcpFD) // the engine owned them
	requireFDClosed(t, udpFD)
}

func TestFDAddressRejects(t *testing.T) {
	for _, addr := range []string{"fd://x", "fd://-1"} {
		_, err := reactor.Start(newTPHandler(), []string{addr})
		require.ErrorIs(t, err, reactor.ErrBadAddress, addr)
	}
	// Not a socket.
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	_, err = reactor.Start(newTPHandler(), []string{"fd://" + strconv.Itoa(int(r.Fd()))})
	require.Error(t, err)
	// A connected socket is not a listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	cf, err := c.(*net.TCPConn).File()
	require.NoError(t, err)
	defer cf.Close()
	_, err = reactor.Start(newTPHandler(), []string{"fd://" + strconv.Itoa(int(cf.Fd()))})
	require.ErrorContains(t, err, "neither a listening stream socket nor a UDP socket")
	// No socket activation in this process.
	_, err = reactor.Start(newTPHandler(), []string{"systemd://"})
	require.ErrorIs(t, err, reactor.ErrNoActivation)
}

// systemdHelperEnv switches TestSystemdActivationHelper on in the child.
const systemdHelperEnv = "EVLOOP_TEST_SYSTEMD_HELPER"

// TestSystemdActivationHelper is the child process of
// TestSystemdActivation: a service started by "systemd" with one socket at
// fd 3. It does nothing in a normal test run.
func TestSystemdActivationHelper(t *testing.T) {
	if os.Getenv(systemdHelperEnv) == "" {
		t.Skip("child process of TestSystemdActivation")
	}
	// systemd sets LISTEN_PID to the service's pid before exec; the parent
	// test cannot know it, so the child does.
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	var backend []reactor.Option
	if os.Getenv(systemdHelperEnv) == "uring" {
		backend = append(backend, reactor.WithBackend(uringbackend.New()))
	}
	_, err := reactor.Start(newTPHandler(), []string{"systemd://other-name"}, backend...)
	require.ErrorIs(t, err, reactor.ErrNoActivation)

	e, err := reactor.Start(newTPHandler(), []string{"systemd://web"}, append(backend, reactor.WithLoops(1), reactor.WithSignals(syscall.SIGTERM))...)
	require.NoError(t, err)
	require.Empty(t, os.Getenv("LISTEN_FDS"), "the activation variables are cleared for our children")
	fmt.Printf("listening %s://%s\n", e.Addrs()[0].Network(), e.Addrs()[0])
	select {
	case <-e.Done():
	case <-time.After(tpBound):
		t.Fatal("the parent never sent SIGTERM")
	}
}

// TestSystemdActivation: a service started with a socket at fd 3
// (LISTEN_FDS, LISTEN_FDNAMES) serves it as systemd://web, tells the
// manager READY=1 and, on SIGTERM, STOPPING=1; on native and io_uring
// (gnet binds its own sockets).
func TestSystemdActivation(t *testing.T) {
	for _, backend := range []string{"native", "uring"} {
		t.Run(backend, func(t *testing.T) {
			testSystemdActivation(t, backend)
		})
	}
}

func testSystemdActivation(t *testing.T, backend string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	lf, err := ln.(*net.TCPListener).File()
	require.NoError(t, err)
	ln.Close()
	defer lf.Close()

	// The service manager's notification socket.
	notifyPath := filepath.Join(t.TempDir(), "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	require.NoError(t, err)
	defer notify.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*tpBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSystemdActivationHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), systemdHelperEnv+"="+backend, "LISTEN_FDS=1", "LISTEN_FDNAMES=web", "NOTIFY_SOCKET="+notifyPath)
	cmd.ExtraFiles = []*os.File{lf} // fd 3, as systemd passes it
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	waited := false
	defer func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()

	notify.SetDeadline(time.Now().Add(tpBound))
	buf := make([]byte, 256)
	n, err := notify.Read(buf)
	require.NoError(t, err, "no READY=1 from the child")
	require.Equal(t, "READY=1", string(buf[:n]))

	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "child stderr: %s", stderr.String())
	require.Equal(t, "listening tcp://"+addr+"\n", line)

	c, err := net.DialTimeout("tcp", addr, tpBound)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(tpBound))
	_, err = c.Write([]byte("activated"))
	require.NoError(t, err)
	got := make([]byte, 9)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, "activated", string(got))

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(c)
	require.NoError(t, err, "the stop closes conns cleanly")
	require.Empty(t, rest)
	c.Close()
	n, err = notify.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "STOPPING=1", string(buf[:n]))
	io.Copy(io.Discard, stdout)
	waited = true
	require.NoError(t, cmd.Wait(), "child stderr: %s", stderr.String())
}
