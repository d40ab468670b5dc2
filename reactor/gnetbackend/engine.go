//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/reactor"
)

// engine is a reactor.Engine over a gnet engine started with gnet.Rotate.
type engine struct {
	h      reactor.Handler // the root handler: OnBoot, OnTick, OnShutdown
	root   *route          // h's route: Dial's conns
	routes routes          // the listeners' routes, for accepted conns
	o      *reactor.Options
	log    *slog.Logger
	glog   gnetLogger
	plan   []listenerPlan
	srv    *adapter

	// Set while gnet boots, read after booted is closed.
	geng       gnet.Engine
	addrs      []net.Addr
	localByKey map[string]localAddr // gnet's listener address string -> bound address
	bootAction reactor.Action
	bootPanic  any
	bootErr    error
	booted     chan struct{}

	serving     chan struct{} // closed by the first tick: gnet's loops run
	servingOnce sync.Once
	rotateErr   error
	rotateDone  chan struct{} // closed when gnet.Rotate has returned

	localFix sync.Map // gnet's listener net.Addr (one pointer per listener) -> localAddr

	// listenerDups are duplicates of gnet's TCP listening sockets, taken at
	// boot for stopByListeners; closed once gnet has stopped.
	dupMu        sync.Mutex
	listenerDups []int

	mu       sync.Mutex
	conns    map[*wconn]struct{} // conns the handler has seen open
	stopping bool
	drained  chan struct{} // closed once stopping and conns is empty
	stopFlag atomic.Bool   // stopping, readable without mu
	stopCh   chan struct{} // closed once stopping: Stopping

	loops     sync.Map // gnet.EventLoop -> *loopStats
	loopsMu   sync.Mutex
	loopOrder []*loopStats // guarded by loopsMu
	misc      loopStats    // counters no loop owns (OnTick panics)

	beginOnce sync.Once      // the drain: stopping set, conns told
	stopReq   sync.Once      // the stop: closeReq sent
	closeReq  chan time.Time // the stop's deadline, to the drain goroutine
	force     chan error
	drainDone chan struct{}
	done      chan struct{}
	forcedMu  sync.Mutex
	forcedErr error // why conns were closed before they drained; set once

	dialCtx    context.Context
	dialCancel context.CancelFunc
	dialWG     sync.WaitGroup
	dialMu     sync.Mutex
	client     *gnet.Client
	clientShut bool
}

func newEngine(h reactor.Handler, o *reactor.Options, plan []listenerPlan) *engine {
	log := o.Logger.With("backend", "gnet")
	e := &engine{
		h:          h,
		o:          o,
		log:        log,
		glog:       newGnetLogger(log),
		plan:       plan,
		booted:     make(chan struct{}),
		serving:    make(chan struct{}),
		rotateDone: make(chan struct{}),
		conns:      map[*wconn]struct{}{},
		drained:    make(chan struct{}),
		force:      make(chan error, 1),
		closeReq:   make(chan time.Time, 1),
		stopCh:     make(chan struct{}),
		drainDone:  make(chan struct{}),
		done:       make(chan struct{}),
	}
	e.root = newRoute(h)
	e.routes = routes{byKey: map[string]*route{}, fallbck: e.root}
	if len(plan) == 1 {
		e.routes.only = plan[0].route
	}
	for _, p := range plan {
		if key, ok := routeKey(p); ok {
			e.routes.byKey[key] = p.route
		}
	}
	e.srv = &adapter{e: e}
	e.dialCtx, e.dialCancel = context.WithCancel(context.Background())
	return e
}

// Addrs implements reactor.Engine.
func (e *engine) Addrs() []net.Addr { return append([]net.Addr(nil), e.addrs...) }

// Conns implements reactor.Engine.
func (e *engine) Conns() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}

// Done implements reactor.Engine.
func (e *engine) Done() <-chan struct{} { return e.done }

// Stopping implements reactor.Engine.
func (e *engine) Stopping() <-chan struct{} { return e.stopCh }

// admit records w as open, unless the engine is stopping or full.
func (e *engine) admit(w *wconn) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopping:
		return reactor.ErrEngineStopped
	case e.o.MaxConns > 0 && len(e.conns) >= e.o.MaxConns:
		return reactor.ErrTooManyConns
	}
	e.conns[w] = struct{}{}
	return nil
}

// forget drops w from the open conns.
func (e *engine) forget(w *wconn) {
	e.mu.Lock()
	delete(e.conns, w)
	if e.stopping && len(e.conns) == 0 {
		closeOnce(e.drained)
	}
	e.mu.Unlock()
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
