//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// Starting: gnet.Rotate on its own goroutine, OnBoot, and the bound addresses
// gnet does not report.

import (
	"errors"
	"fmt"
	"net"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// start runs gnet and returns once its listeners are bound, OnBoot has run
// and its loops are serving.
func (e *engine) start() error {
	go e.rotate()
	select {
	case <-e.booted:
	case <-e.rotateDone:
		select {
		case <-e.booted: // booted, then returned at once: OnBoot said Shutdown
		default:
			e.dialCancel()
			if e.rotateErr == nil {
				return errors.New("gnetbackend: gnet stopped before booting")
			}
			return fmt.Errorf("gnetbackend: %w", e.rotateErr)
		}
	}
	if e.bootErr != nil || e.bootPanic != nil || e.bootAction == reactor.Shutdown {
		// OnBoot returned gnet.Shutdown: gnet closes its listeners and
		// returns without starting a loop.
		<-e.rotateDone
		e.releaseListenerDups()
		e.dialCancel()
		if e.bootPanic != nil {
			panic(e.bootPanic) // in Start's caller, as the native backend's OnBoot would
		}
		if e.bootErr != nil {
			return e.bootErr
		}
		e.beginOnce.Do(func() {
			e.stopFlag.Store(true)
			close(e.stopCh)
		})
		e.finish()
		return nil
	}
	select {
	case <-e.serving:
	case <-e.rotateDone:
		select {
		case <-e.serving: // served, and already stopped (a first OnTick said Shutdown)
		default:
			e.releaseListenerDups()
			e.dialCancel()
			return fmt.Errorf("gnetbackend: starting gnet's loops: %w", e.rotateErr)
		}
	}
	go e.monitor()
	sdnotify.Ready(e.log)
	return nil
}

func (e *engine) rotate() {
	defer close(e.rotateDone)
	opts := gnetOptions(e.o, e.glog, false)
	if e.o.SocketRecvBuf <= 0 && onlyUDP(e.plan) {
		// gnet binds a UDP socket per loop after OnBoot, out of reach of
		// resolveAddrs: its option sizes them all. (With tcp listeners
		// too it would also size every accepted conn's buffer.)
		opts = append(opts, gnet.WithSocketRecvBuffer(reactor.DefaultUDPRecvBuffer))
	}
	e.rotateErr = gnet.Rotate(e.srv, protoAddrs(e.plan), opts...)
	e.removeUnixSockets() // gnet has closed its listeners
}

// onlyUDP reports whether every listener of plan is a udp one.
func onlyUDP(plan []listenerPlan) bool {
	for _, p := range plan {
		if p.network != "udp" {
			return false
		}
	}
	return len(plan) > 0
}

// boot runs as gnet's OnBoot: listeners are bound, no loop runs yet.
func (e *engine) boot(ge gnet.Engine) (a gnet.Action) {
	defer close(e.booted)
	e.geng = ge
	err := e.resolveAddrs()
	if err == nil {
		err = e.moveUnixSockets()
	}
	if err != nil {
		e.bootErr = err
		return gnet.Shutdown
	}
	defer func() {
		if r := recover(); r != nil {
			e.bootPanic = r
			a = gnet.Shutdown
		}
	}()
	e.bootAction = e.h.OnBoot(e)
	if e.bootAction == reactor.Shutdown {
		return gnet.Shutdown
	}
	return gnet.None
}

// resolveAddrs reads each listener's bound address from a duplicate of its
// fd: gnet keeps only the address it was asked for, port 0 and all.
func (e *engine) resolveAddrs() error {
	e.localByKey = map[string]localAddr{}
	for _, p := range e.plan {
		fd, err := e.geng.DupListener(p.network, p.address)
		if err != nil {
			return fmt.Errorf("gnetbackend: finding listener %s: %w", p.addr, err)
		}
		if p.network == "udp" && e.o.SocketRecvBuf <= 0 {
			// As native: a burst waits in the kernel while the loop is busy,
			// where the kernel's default buffer (about 256 small datagrams)
			// drops it. The dup shares the first loop's socket; see rotate
			// for the other loops'.
			socket.RaiseRecvBuffer(fd, reactor.DefaultUDPRecvBuffer)
		}
		sa, err := unix.Getsockname(fd)
		if err == nil && p.network == "tcp" && !e.o.ReusePort {
			e.dupMu.Lock()
			e.listenerDups = append(e.listenerDups, fd)
			e.dupMu.Unlock()
		} else {
			unix.Close(fd)
		}
		if err != nil {
			return fmt.Errorf("gnetbackend: getsockname %s: %w", p.addr, err)
		}
		bound := socket.Addr(p.network, sa)
		if p.network == "unix" {
			// gnet's private name; conns report the path it moves to.
			bound = &net.UnixAddr{Name: p.unixPath, Net: "unix"}
			e.localByKey[p.address] = localAddr{addr: bound}
		}
		e.addrs = append(e.addrs, bound)
		if key, ok := gnetListenerKey(p); ok {
			e.localByKey[key] = localAddr{addr: bound, perSocket: unspecified(bound)}
		}
	}
	return nil
}

// gnetListenerKey is the string of the net.Addr gnet gives accepted conns
// as their local address: the listen address resolved, port 0 unresolved.
func gnetListenerKey(p listenerPlan) (string, bool) {
	switch p.network {
	case "tcp":
		a, err := net.ResolveTCPAddr(p.addr.Scheme, p.address)
		if err != nil {
			return "", false
		}
		return a.String(), true
	case "udp":
		a, err := net.ResolveUDPAddr(p.addr.Scheme, p.address)
		if err != nil {
			return "", false
		}
		return a.String(), true
	}
	return "", false
}
