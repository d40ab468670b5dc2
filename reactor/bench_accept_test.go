//go:build linux

package reactor_test

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// lifecycle signals each OnOpen and OnClose, allocation-free.
type lifecycle struct {
	reactor.BaseHandler
	opened, closed chan struct{}
}

func (h *lifecycle) OnOpen(c conn.Conn) reactor.Action { h.opened <- struct{}{}; return reactor.None }
func (h *lifecycle) OnClose(c conn.Conn, err error)    { h.closed <- struct{}{} }

// BenchmarkConnLifecycle is one TCP conn accepted, opened and closed by the
// peer. The client uses raw syscalls, so allocs/op and B/op are the server's
// cost per conn: what every idle conn holds, plus garbage.
func BenchmarkConnLifecycle(b *testing.B) {
	h := &lifecycle{opened: make(chan struct{}, 1), closed: make(chan struct{}, 1)}
	e, err := reactor.Start(h, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.Stop(ctx)
	}()
	ta := e.Addrs()[0].(*net.TCPAddr)
	sa := &unix.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	cycle := func() {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := unix.Connect(fd, sa); err != nil {
			b.Fatal(err)
		}
		wait(b, timer, h.opened)
		unix.Close(fd)
		wait(b, timer, h.closed)
	}
	for i := 0; i < 100; i++ { // grow the fd table and the pools first
		cycle()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cycle()
	}
}

// wait bounds a wait with a reused timer: time.After would allocate.
func wait(b *testing.B, t *time.Timer, ch chan struct{}) {
	t.Reset(5 * time.Second)
	select {
	case <-ch:
	case <-t.C:
		b.Fatal("timed out")
	}
	t.Stop()
}
