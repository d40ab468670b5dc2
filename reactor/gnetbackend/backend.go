//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

// maxLoops is gnet's cap on event loops (it silently lowers larger counts).
const maxLoops = 256

// Backend starts engines on gnet/v2. The zero value is ready to use.
type Backend struct{}

// New returns the gnet backend, for reactor.WithBackend.
func New() reactor.Backend { return Backend{} }

// Name returns "gnet".
func (Backend) Name() string { return "gnet" }

// Start binds addrs, calls OnBoot and serves on gnet, as reactor.Start does.
// It fails with an error wrapping reactor.ErrUnsupported for options and
// address forms gnet cannot honour (see the package documentation).
func (Backend) Start(h reactor.Handler, specs []reactor.ListenSpec, o *reactor.Options) (reactor.Engine, error) {
	if h == nil {
		return nil, errors.New("gnetbackend: nil handler")
	}
	if o == nil {
		o = reactor.NewOptions()
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no address to listen on", reactor.ErrBadAddress)
	}
	if err := checkOptions(o); err != nil {
		return nil, err
	}
	plan, err := planListeners(specs, o)
	if err != nil {
		return nil, err
	}
	if err := preflight(plan, o); err != nil {
		return nil, err
	}
	e := newEngine(h, o, plan)
	if err := e.start(); err != nil {
		return nil, err
	}
	return e, nil
}

// checkOptions refuses what gnet cannot do and this package does not emulate.
func checkOptions(o *reactor.Options) error {
	if o.BusyPoll > 0 {
		return fmt.Errorf("%w: WithBusyPoll(%v): gnet's loop blocks in its own epoll_wait", reactor.ErrUnsupported, o.BusyPoll)
	}
	if o.Poller != poller.Auto && o.Poller != gnetPoller {
		return fmt.Errorf("%w: WithPoller(%v): gnet always uses %v on this OS", reactor.ErrUnsupported, o.Poller, gnetPoller)
	}
	if o.Loops > maxLoops {
		return fmt.Errorf("%w: WithLoops(%d): gnet runs at most %d loops", reactor.ErrUnsupported, o.Loops, maxLoops)
	}
	return nil
}

// gnetOptions maps evloop's options to gnet's, for the server (client false)
// or for the Client behind Engine.Dial.
func gnetOptions(o *reactor.Options, log gnetLogger, client bool) []gnet.Option {
	nodelay := gnet.TCPNoDelay
	if !o.TCPNoDelay {
		nodelay = gnet.TCPDelay
	}
	opts := []gnet.Option{
		gnet.WithNumEventLoop(o.Loops),
		gnet.WithMulticore(o.Loops > 1),
		gnet.WithTCPNoDelay(nodelay),
		gnet.WithReadBufferCap(o.ReadBufferSize),
		gnet.WithSocketRecvBuffer(o.SocketRecvBuf),
		gnet.WithSocketSendBuffer(o.SocketSendBuf),
		gnet.WithLogger(log),
	}
	if o.KeepAlive > 0 {
		// gnet passes whole seconds to setsockopt and fails on 0.
		d := max(time.Second, o.KeepAlive.Round(time.Second))
		opts = append(opts, gnet.WithTCPKeepAlive(d), gnet.WithTCPKeepInterval(d))
	}
	if client {
		return opts
	}
	lb := gnet.RoundRobin
	switch o.LoadBalancing {
	case reactor.LeastConns:
		lb = gnet.LeastConnections
	case reactor.SourceHash:
		lb = gnet.SourceAddrHash
	}
	return append(opts,
		gnet.WithLoadBalancing(lb),
		gnet.WithReusePort(o.ReusePort),
		// As the native listeners do, so that a restarted server can bind
		// while old conns sit in TIME_WAIT.
		gnet.WithReuseAddr(true),
		// Always on: the first tick tells Start that the loops run, even
		// when the handler does not want OnTick.
		gnet.WithTicker(true),
	)
}

// listenerPlan is one address as evloop and gnet each see it.
type listenerPlan struct {
	addr  reactor.Addr
	route *route // the handler of the listener's conns
	proto string // gnet's protocol address: tcp://127.0.0.1:7000
	// network and address are gnet's names for the listener once open, as
	// gnet.Engine.DupListener wants them.
	network, address string
	// unixPath is the path a unix listener serves; gnet binds address, a
	// private name beside it, and boot moves the socket here (unixpath.go).
	unixPath string
}

// planListeners maps evloop addresses to gnet's.
func planListeners(specs []reactor.ListenSpec, o *reactor.Options) ([]listenerPlan, error) {
	var plan []listenerPlan
	anyUDP := false
	for _, sp := range specs {
		a, s := sp.Addr, sp.Addr.String()
		if sp.Handler == nil {
			return nil, fmt.Errorf("gnetbackend: %s: nil handler", a)
		}
		if _, ok := a.InheritedFD(); ok {
			return nil, fmt.Errorf("%w: %s: gnet binds its own sockets and cannot serve an inherited one (fd=)", reactor.ErrUnsupported, s)
		}
		p := listenerPlan{addr: a, route: newRoute(sp.Handler)}
		switch a.Scheme {
		case "tcp", "tcp4", "tcp6":
			p.proto, p.network, p.address = a.Scheme+"://"+a.Target, "tcp", a.Target
		case "udp", "udp4", "udp6":
			anyUDP = true
			p.proto, p.network, p.address = a.Scheme+"://"+a.Target, "udp", a.Target
		case "unix":
			if strings.ContainsAny(a.Target, "?#") {
				return nil, fmt.Errorf("%w: %q: gnet parses addresses as URLs and cannot bind a path containing '?' or '#'", reactor.ErrBadAddress, s)
			}
			priv, err := privateUnixPath(a)
			if err != nil {
				return nil, err
			}
			p.proto, p.network, p.unixPath = unixProto(priv), "unix", a.Target
		default:
			return nil, fmt.Errorf("%w: %s addresses (gnet serves tcp, udp and unix)", reactor.ErrUnsupported, a.Scheme)
		}
		plan = append(plan, p)
	}
	// With SO_REUSEPORT every gnet loop binds its own listener to the
	// address as written, so port 0 would give each loop a different port
	// and only the first would be reachable at the reported address. gnet
	// forces SO_REUSEPORT whenever there is a UDP address. With several
	// listeners port 0 is resolved too: gnet gives a conn its listener's
	// address as written, and that is how the conn finds its listener's
	// handler (see routes).
	reuse := (o.ReusePort || anyUDP) && o.Loops > 1 || len(plan) > 1
	for i := range plan {
		p := &plan[i]
		if p.network == "unix" {
			if err := p.parseGnet(); err != nil {
				return nil, err
			}
			continue
		}
		if reuse {
			target, err := pickPort(p.addr)
			if err != nil {
				return nil, err
			}
			p.proto, p.address = p.addr.Scheme+"://"+target, target
		}
		if err := p.parseGnet(); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// preflight binds each address once and lets it go, before gnet binds it:
//   - a unix path gets the native backend's check: a stale socket is
//     removed, a live server's socket or any other file refused (gnet binds
//     a private name, which boot moves to the path: see unixpath.go);
//   - gnet leaks the listeners it has opened when a later address fails
//     (gnet v2.10 createListeners), so an address that cannot be bound is
//     found here, with nothing opened yet.
//
// Port 0 needs no check. Another process can still take an address between
// this check and gnet's bind; then the leak above can happen.
func preflight(plan []listenerPlan, o *reactor.Options) error {
	for _, p := range plan {
		var fd int
		var err error
		switch p.network {
		case "unix":
			fd, _, err = socket.Listen("unix", p.unixPath, false, nil)
		case "tcp", "udp":
			if _, port, _ := net.SplitHostPort(p.address); port == "0" {
				continue
			}
			if p.network == "tcp" {
				fd, _, err = socket.Listen(p.addr.Scheme, p.address, o.ReusePort, nil)
			} else {
				// Without SO_REUSEPORT, though gnet sets it: the check
				// must fail on a port any socket holds.
				fd, _, _, err = socket.ListenPacket(p.addr.Scheme, p.address, false)
			}
		}
		if err != nil {
			return fmt.Errorf("reactor: %s: %w", p.addr, err)
		}
		var made *socket.UnixPath
		if p.network == "unix" {
			made = socket.BoundUnixPath(p.unixPath)
		}
		unix.Close(fd)
		made.Remove() // ours, just made: boot moves gnet's socket here
	}
	return nil
}

// unixProto writes a unix path so that gnet's URL parsing gives it back: an
// absolute path as the URL path, a relative one behind a "." host (a plain
// host would be read as host:port).
func unixProto(p string) string {
	if strings.HasPrefix(p, "/") {
		return "unix://" + p
	}
	return "unix://./" + p
}

// parseGnet fills address the way gnet's parseProtoAddr will, so that
// DupListener finds the listener.
func (p *listenerPlan) parseGnet() error {
	u, err := url.Parse(strings.ReplaceAll(p.proto, "%", "%25"))
	if err != nil {
		return fmt.Errorf("%w: %s: %v", reactor.ErrBadAddress, p.addr, err)
	}
	if p.network == "unix" {
		p.address = path.Join(u.Host, u.Path)
	} else {
		p.address = u.Host
	}
	return nil
}

// pickPort resolves port 0 by binding a throwaway socket. It is closed at
// once: a bound UDP socket in a SO_REUSEPORT group would take datagrams, and
// gnet may decide not to set SO_REUSEPORT at all.
func pickPort(a reactor.Addr) (string, error) {
	host, port, err := net.SplitHostPort(a.Target)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", reactor.ErrBadAddress, a, err)
	}
	if port != "0" && port != "" {
		return a.Target, nil
	}
	var bound net.Addr
	if a.IsStream() {
		ln, err := net.Listen(a.Scheme, a.Target)
		if err != nil {
			return "", fmt.Errorf("gnetbackend: %s: %w", a, err)
		}
		bound = ln.Addr()
		ln.Close()
	} else {
		pc, err := net.ListenPacket(a.Scheme, a.Target)
		if err != nil {
			return "", fmt.Errorf("gnetbackend: %s: %w", a, err)
		}
		bound = pc.LocalAddr()
		pc.Close()
	}
	_, port, _ = net.SplitHostPort(bound.String())
	return net.JoinHostPort(host, port), nil
}

func protoAddrs(plan []listenerPlan) []string {
	s := make([]string, len(plan))
	for i, p := range plan {
		s[i] = p.proto
	}
	return s
}
