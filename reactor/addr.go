package reactor

import (
	"fmt"
	"net/url"
	"strings"
)

// Addr is a parsed listen address such as tcp://127.0.0.1:7000.
type Addr struct {
	Scheme string // tcp, tcp4, tcp6, udp, udp4, udp6, unix, fifo, fd, systemd, tls, tls+unix
	Target string // host:port, a path, a fd number, or a socket name
	// Query holds the settings written after '?'; nil when none. ParseAddr
	// accepts only the keys the scheme knows: proxy for stream sockets
	// (tcp, tcp4, tcp6, unix, fd, systemd: tcp://127.0.0.1:7000?proxy=required
	// asks for the PROXY protocol layer, which Start does not serve yet),
	// mode and timeout for fifo (fifo:///p?mode=0660&timeout=2s).
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
// listener's handler; fifo's own settings are the handshake's.
var queryKeys = map[string][]string{
	"tcp": {"proxy"}, "tcp4": {"proxy"}, "tcp6": {"proxy"}, "unix": {"proxy"},
	"fd": {"proxy"}, "systemd": {"proxy"}, "tls": {"proxy"}, "tls+unix": {"proxy"},
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
	if len(q) > 0 {
		a.Query = q
	}
	return a, nil
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
