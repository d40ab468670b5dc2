package reactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
)

// ListenSpecs parses addrs and pairs each with h.
func ListenSpecs(h Handler, addrs []string) ([]ListenSpec, error) {
	if h == nil {
		return nil, errors.New("reactor: nil handler")
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no address to listen on", ErrBadAddress)
	}
	specs := make([]ListenSpec, 0, len(addrs))
	for _, s := range addrs {
		a, err := ParseAddr(s)
		if err != nil {
			return nil, err
		}
		specs = append(specs, ListenSpec{Addr: a, Handler: h})
	}
	return specs, nil
}

// Start binds addrs, calls OnBoot and serves in the background. It returns
// once every listener is bound.
func Start(h Handler, addrs []string, opts ...Option) (Engine, error) {
	specs, err := ListenSpecs(h, addrs)
	if err != nil {
		return nil, err
	}
	return start(h, specs, NewOptions(opts...))
}

// StartSpecs is Start with a Handler per listener: the conns of each spec
// go to its Handler, while OnBoot, OnTick and OnShutdown go to root.
func StartSpecs(root Handler, specs []ListenSpec, opts ...Option) (Engine, error) {
	return start(root, specs, NewOptions(opts...))
}

func start(root Handler, specs []ListenSpec, o *Options) (Engine, error) {
	if root == nil {
		return nil, errors.New("reactor: nil handler")
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no address to listen on", ErrBadAddress)
	}
	if err := checkInheritedFDs(specs); err != nil {
		return nil, err
	}
	f := &front{o: o, root: root}
	layeredSpecs := make([]ListenSpec, len(specs))
	for i, sp := range specs {
		if sp.Handler == nil {
			return nil, fmt.Errorf("reactor: %s: nil handler", sp.Addr)
		}
		a, h, err := f.layered(sp.Addr, sp.Handler)
		if err != nil {
			return nil, err
		}
		layeredSpecs[i] = ListenSpec{Addr: a, Handler: h}
	}
	var sigs chan os.Signal
	if len(o.Signals) > 0 {
		// Notified before the backend starts: no signal in between takes
		// its default action (a SIGTERM would kill the process).
		sigs = make(chan os.Signal, 2)
		signal.Notify(sigs, o.Signals...)
		f.done = make(chan struct{})
	}
	b := o.Backend
	if b == nil {
		b = nativeBackend{}
	}
	e, err := b.Start(&rootHandler{Forward: Forward{Next: root}, f: f}, layeredSpecs, o)
	if err != nil {
		if sigs != nil {
			signal.Stop(sigs)
		}
		return nil, err
	}
	if f.Engine == nil {
		f.Engine = e // a backend that did not boot (OnBoot said Shutdown before it could)
	}
	if sigs != nil {
		f.watchSignals(sigs)
	}
	return f, nil
}

// Run is Start followed by a wait for ctx to end or for a callback to return
// Shutdown; it then stops the engine, allowing WithDrainTimeout for output
// to flush.
func Run(ctx context.Context, h Handler, addrs []string, opts ...Option) error {
	specs, err := ListenSpecs(h, addrs)
	if err != nil {
		return err
	}
	o := NewOptions(opts...)
	e, err := start(h, specs, o)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-e.Done():
	}
	stopCtx, cancel := o.DrainContext()
	defer cancel()
	return e.Stop(stopCtx)
}

// checkInheritedFDs refuses two addresses that name the same inherited fd.
// The engine takes each inherited fd over, closing it if Start fails: the
// second registration of a fd would fail, and the fd would be closed twice,
// the second time perhaps as somebody else's fd by then.
func checkInheritedFDs(specs []ListenSpec) error {
	seen := make(map[int]Addr)
	for _, sp := range specs {
		fd, ok := sp.Addr.inheritedSocket()
		if !ok {
			continue
		}
		if prev, dup := seen[fd]; dup {
			return fmt.Errorf("%w: %s and %s both serve fd %d (a socket is served once)", ErrBadAddress, prev, sp.Addr, fd)
		}
		seen[fd] = sp.Addr
	}
	return nil
}
