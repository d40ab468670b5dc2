package reactor

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Addr is a parsed listen address such as tcp://127.0.0.1:7000.
type Addr struct {
	Scheme string // tcp, tcp4, tcp6, udp, udp4, udp6, unix, fifo, fd, systemd, tls, tls+unix
	Target string // host:port, a path, a fd number, or a socket name
	// Query holds the settings written after '?'; nil when none. ParseAddr
	// accepts only the keys the scheme knows: proxy for stream sockets
	// (tcp, tcp4, tcp6, unix, fd, systemd: tcp://127.0.0.1:7000?proxy=required
	// asks for the PROXY protocol layer), fd for sockets (tcp, tcp4, tcp6,
	// unix, udp, udp4, udp6, tls, tls+unix: tcp://127.0.0.1:7000?fd=7 is served from the
	// inherited socket 7, as fd://7 is, instead of binding: package upgrade
	// writes such addresses), mode and timeout for fifo
	// (fifo:///p?mode=0660&timeout=2s).
	Query url.Values
}

// String returns the address in URL form.
func (a Addr) String() string {
	s := a.Scheme + "://" + a.Target
	if len(a.Query) > 0 {
		s += "?" + a.Query.Encode()
	}
	return s
}

// Network is the net package's network name: "tcp4", "unix", ...
func (a Addr) Network() string { return a.Scheme }

// IsStream tells whether the address carries byte streams (not datagrams).
func (a Addr) IsStream() bool {
	switch a.Scheme {
	case "udp", "udp4", "udp6":
		return false
	}
	return true
}

// queryKeys are the settings each scheme accepts after '?'. proxy is the
// PROXY protocol layer's (required or optional), which wraps a stream
// listener's handler; fd names an inherited socket that serves the address
// (the address still says what it is, for its layers and for people);
// fifo's own settings are the handshake's.
var queryKeys = map[string][]string{
	"tcp": {"proxy", "fd"}, "tcp4": {"proxy", "fd"}, "tcp6": {"proxy", "fd"}, "unix": {"proxy", "fd"},
	"udp": {"fd"}, "udp4": {"fd"}, "udp6": {"fd"},
	"fd": {"proxy"}, "systemd": {"proxy"}, "tls": {"proxy", "fd"}, "tls+unix": {"proxy", "fd"},
	"fifo": {"mode", "timeout"},
}

// ParseAddr parses the address forms of the contract:
//
//	tcp://host:port  tcp4://host:port  tcp6://[::1]:port
//	udp://host:port  udp4://  udp6://
//	unix:///path     fifo:///path
//	fd://N           systemd:// or systemd://NAME (socket activation)
//	tls://host:port  tls+unix:///path (TLS over tcp or unix; see WithTLS)
//
// A bare host:port means tcp. Settings may follow a '?' as a URL query
// (fifo:///p?mode=0660); a key the scheme does not know is an error.
func ParseAddr(s string) (Addr, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if strings.Contains(s, "/") || s == "" {
			return Addr{}, fmt.Errorf("%w: %q (want scheme://target, e.g. tcp://127.0.0.1:7000)", ErrBadAddress, s)
		}
		scheme, rest = "tcp", s
	}
	scheme = strings.ToLower(scheme)
	rest, rawQuery, hasQuery := strings.Cut(rest, "?")
	switch scheme {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "tls":
		if !strings.Contains(rest, ":") {
			return Addr{}, fmt.Errorf("%w: %q has no port", ErrBadAddress, s)
		}
	case "unix", "fifo", "tls+unix":
		if rest == "" {
			return Addr{}, fmt.Errorf("%w: %q has no path", ErrBadAddress, s)
		}
	case "fd":
		if rest == "" {
			return Addr{}, fmt.Errorf("%w: %q has no fd number", ErrBadAddress, s)
		}
	case "systemd":
	default:
		return Addr{}, fmt.Errorf("%w: unknown scheme %q in %q", ErrBadAddress, scheme, s)
	}
	a := Addr{Scheme: scheme, Target: rest}
	if !hasQuery {
		return a, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Addr{}, fmt.Errorf("%w: %q: bad settings: %v", ErrBadAddress, s, err)
	}
	for key := range q {
		if !knownKey(scheme, key) {
			return Addr{}, fmt.Errorf("%w: %q: unknown setting %q for %s (want one of %v)", ErrBadAddress, s, key, scheme, queryKeys[scheme])
		}
	}
	if q.Has("fd") {
		if n, err := strconv.Atoi(q.Get("fd")); err != nil || n < 0 || len(q["fd"]) > 1 {
			return Addr{}, fmt.Errorf("%w: %q: want fd=N once, with N a file descriptor number", ErrBadAddress, s)
		}
	}
	if len(q) > 0 {
		a.Query = q
	}
	return a, nil
}

// InheritedFD returns the socket named by the address's fd=N setting, or
// -1 and false when the address is to be bound.
func (a Addr) InheritedFD() (int, bool) {
	if !a.Query.Has("fd") {
		return -1, false
	}
	n, err := strconv.Atoi(a.Query.Get("fd"))
	if err != nil || n < 0 {
		return -1, false // ParseAddr refuses these
	}
	return n, true
}

// inheritedSocket is the fd an address serves instead of binding, from
// fd://N or ?fd=N.
func (a Addr) inheritedSocket() (int, bool) {
	if a.Scheme == "fd" {
		n, err := strconv.Atoi(a.Target)
		return n, err == nil && n >= 0
	}
	return a.InheritedFD()
}

func knownKey(scheme, key string) bool {
	for _, k := range queryKeys[scheme] {
		if k == key {
			return true
		}
	}
	return false
}

// tlsTransport is the address a tls:// or tls+unix:// address is bound at
// (tcp://, unix://, with the same target and settings), and whether a is one.
func (a Addr) tlsTransport() (Addr, bool) {
	switch a.Scheme {
	case "tls":
		a.Scheme = "tcp"
	case "tls+unix":
		a.Scheme = "unix"
	default:
		return a, false
	}
	return a, true
}
