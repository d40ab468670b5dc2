package reactor_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// proxy is a handler that dials out from inside OnOpen: every conn accepted
// on the front is paired with a conn it dials to the backend, and bytes are
// copied both ways. It runs on one loop, so the pair's fields are touched
// by one goroutine only.
type proxy struct {
	reactor.BaseHandler
	backend string
	engine  reactor.Engine
	waiting []conn.Conn // front conns whose backend conn is being dialed
	closed  chan error
}

type proxyPair struct{ peer conn.Conn }

func (p *proxy) OnBoot(e reactor.Engine) reactor.Action {
	p.engine = e
	return reactor.None
}

func (p *proxy) OnOpen(c conn.Conn) reactor.Action {
	if c.RemoteAddr().String() == p.backend {
		// The dialed side: pair it with the front conn waiting longest.
		front := p.waiting[0]
		p.waiting = p.waiting[1:]
		c.SetContext(&proxyPair{peer: front})
		front.SetContext(&proxyPair{peer: c})
		front.Wake() // forward what the client sent meanwhile
		return reactor.None
	}
	p.waiting = append(p.waiting, c)
	if err := p.engine.Dial("tcp", p.backend); err != nil {
		return reactor.Close
	}
	return reactor.None
}

func (p *proxy) OnTraffic(c conn.Conn) reactor.Action {
	pair, _ := c.Context().(*proxyPair)
	if pair == nil {
		return reactor.None // not paired yet: keep the bytes buffered
	}
	b, _ := c.Next(-1)
	pair.peer.Write(b)
	return reactor.None
}

func (p *proxy) OnClose(c conn.Conn, err error) {
	if pair, _ := c.Context().(*proxyPair); pair != nil {
		pair.peer.Close()
	}
	p.closed <- err
}

func TestDialFromHandlerProxy(t *testing.T) {
	for _, pl := range tpPollers {
		t.Run(pl.name, func(t *testing.T) {
			backend := tpStart(t, newTPHandler(), []string{"tcp://127.0.0.1:0"}, pl.opts...)
			p := &proxy{backend: backend.Addrs()[0].String(), closed: make(chan error, 64)}
			front := tpStart(t, p, []string{"tcp://127.0.0.1:0"}, append(pl.opts, reactor.WithLoops(1))...)

			const clients = 10
			var wg sync.WaitGroup
			errs := make(chan error, clients)
			for i := 0; i < clients; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- func() error {
						c, err := net.DialTimeout("tcp", front.Addrs()[0].String(), tpBound)
						if err != nil {
							return err
						}
						defer c.Close()
						c.SetDeadline(time.Now().Add(tpBound))
						msg := []byte("through the proxy " + strconv.Itoa(i))
						if _, err := c.Write(msg); err != nil {
							return err
						}
						got := make([]byte, len(msg))
						if _, err := io.ReadFull(c, got); err != nil {
							return err
						}
						if string(got) != string(msg) {
							return errors.New("proxied echo differs: " + string(got))
						}
						return nil
					}()
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for i := 0; i < 2*clients; i++ { // each front conn and its dialed conn
				select {
				case err := <-p.closed:
					require.NoError(t, err)
				case <-time.After(tpBound):
					t.Fatal("proxy conns did not all close")
				}
			}
			require.Equal(t, int64(2*clients), front.Stats().Accepted, "dialed conns count like accepted ones")
		})
	}
}

// freeAddr returns a loopback TCP address nobody listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDialRefusedReportsOnClose(t *testing.T) {
	before := tpFDs()
	h := newTPHandler()
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))

	addr := freeAddr(t)
	require.NoError(t, e.Dial("tcp", addr))
	ev := h.nextClose(t)
	require.ErrorIs(t, ev.err, syscall.ECONNREFUSED)
	var op *net.OpError
	require.ErrorAs(t, ev.err, &op)
	require.Equal(t, "dial", op.Op)
	require.Equal(t, addr, ev.c.RemoteAddr().String())

	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.sock")
	require.NoError(t, e.Dial("unix", missing))
	ev = h.nextClose(t)
	require.ErrorIs(t, ev.err, syscall.ENOENT)
	require.Equal(t, missing, ev.c.RemoteAddr().String())

	// A unix socket file nobody listens on any more.
	dead := filepath.Join(dir, "dead.sock")
	ln, err := net.Listen("unix", dead)
	require.NoError(t, err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	require.NoError(t, e.Dial("unix", dead))
	require.ErrorIs(t, h.nextClose(t).err, syscall.ECONNREFUSED)

	require.ErrorIs(t, e.Dial("udp", addr), reactor.ErrUnsupported)
	require.ErrorIs(t, e.Dial("tcp", "no-port"), reactor.ErrBadAddress)
	select {
	case <-h.opened:
		t.Fatal("a failed dial must not call OnOpen")
	default:
	}
	require.Equal(t, 0, e.Conns())
	require.NoError(t, tpStop(t, e))
	requireFDsBackTo(t, before)
}

func TestDialSucceedsByNameAndOverUnix(t *testing.T) {
	backendH := newTPHandler()
	sock := filepath.Join(t.TempDir(), "backend.sock")
	backend := tpStart(t, backendH, []string{"tcp://127.0.0.1:0", "unix://" + sock}, reactor.WithLoops(1))
	_, port, err := net.SplitHostPort(backend.Addrs()[0].String())
	require.NoError(t, err)

	h := newTPHandler()
	h.onOpen = func(c conn.Conn) reactor.Action {
		c.Write([]byte("ping"))
		return reactor.None
	}
	got := make(chan string, 2)
	h.onTraffic = func(c conn.Conn) reactor.Action {
		if c.InboundBuffered() < 4 {
			return reactor.None
		}
		b, _ := c.Next(4)
		got <- string(b)
		return reactor.Close
	}
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	require.NoError(t, e.Dial("tcp4", "localhost:"+port)) // resolved off the loop
	require.NoError(t, e.Dial("unix", sock))
	for i := 0; i < 2; i++ {
		c := h.nextOpen(t)
		require.NotNil(t, c.LocalAddr())
		select {
		case s := <-got:
			require.Equal(t, "ping", s)
		case <-time.After(tpBound):
			t.Fatal("no echo on a dialed conn")
		}
		require.NoError(t, h.nextClose(t).err)
	}
	h.requireBalanced(t)
}

// fullBacklog returns the address of a TCP listener whose accept queue is
// full: Linux drops further SYNs, so a connect to it stays in progress
// until it times out.
func fullBacklog(t *testing.T) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	unix.CloseOnExec(fd)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, unix.Listen(fd, 0))
	sa, err := unix.Getsockname(fd)
	require.NoError(t, err)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*unix.SockaddrInet4).Port))
	for i := 0; i < 16; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr // this one timed out: the queue is full
		}
		if err != nil {
			t.Skipf("a full listen backlog refuses rather than drops here: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("could not fill a listen backlog on this system")
	return ""
}

func TestDialTimeout(t *testing.T) {
	addr := fullBacklog(t)
	h := newTPHandler()
	e := tpStart(t, h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithDialTimeout(100*time.Millisecond))
	start := time.Now()
	require.NoError(t, e.Dial("tcp", addr))
	ev := h.nextClose(t)
	require.ErrorIs(t, ev.err, reactor.ErrDialTimeout)
	require.Equal(t, addr, ev.c.RemoteAddr().String())
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)
}

func TestDialPendingWhenEngineStops(t *testing.T) {
	addr := fullBacklog(t)
	h := newTPHandler()
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithDialTimeout(time.Minute))
	require.NoError(t, err)
	require.NoError(t, e.Dial("tcp", addr))
	require.NoError(t, tpStop(t, e))
	ev := h.nextClose(t)
	require.ErrorIs(t, ev.err, reactor.ErrEngineStopped)
	require.ErrorIs(t, e.Dial("tcp", addr), reactor.ErrEngineStopped)
}

// dialReport reports each dial's outcome.
type dialReport struct {
	reactor.BaseHandler
	opened chan conn.Conn
	closed chan error
}

func (h dialReport) OnOpen(c conn.Conn) reactor.Action {
	if c.LocalAddr() != nil && h.opened != nil {
		h.opened <- c
	}
	return reactor.None
}

func (h dialReport) OnClose(c conn.Conn, err error) {
	if h.closed != nil {
		h.closed <- err
	}
}

// WithDialTimeout(0) means no timeout, as net.Dialer's zero Timeout does,
// not a dial that has timed out before it starts.
func TestDialTimeoutZeroIsNoTimeout(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	h := dialReport{opened: make(chan conn.Conn, 1), closed: make(chan error, 2)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithDialTimeout(0))
	require.NoError(t, err)
	defer e.Stop(context.Background())
	defer target.Close() // first: the dialed conn then ends at once
	require.NoError(t, e.Dial("tcp", target.Addr().String()))
	select {
	case <-h.opened:
	case err := <-h.closed:
		t.Fatalf("dial failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no dial outcome")
	}
}
