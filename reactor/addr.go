package reactor

import (
	"fmt"
	"strings"
)

// Addr is a parsed listen address such as tcp://127.0.0.1:7000.
type Addr struct {
	Scheme string // tcp, tcp4, tcp6, udp, udp4, udp6, unix, fifo, fd, systemd
	Target string // host:port, a path, a fd number, or a socket name
}

// String returns the address in URL form.
func (a Addr) String() string { return a.Scheme + "://" + a.Target }

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

// ParseAddr parses the address forms of the contract:
//
//	tcp://host:port  tcp4://host:port  tcp6://[::1]:port
//	udp://host:port  udp4://  udp6://
//	unix:///path     fifo:///path
//	fd://N           systemd:// or systemd://NAME (socket activation)
//
// A bare host:port means tcp.
func ParseAddr(s string) (Addr, error) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if strings.Contains(s, "/") || s == "" {
			return Addr{}, fmt.Errorf("%w: %q (want scheme://target, e.g. tcp://127.0.0.1:7000)", ErrBadAddress, s)
		}
		scheme, rest = "tcp", s
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6":
		if !strings.Contains(rest, ":") {
			return Addr{}, fmt.Errorf("%w: %q has no port", ErrBadAddress, s)
		}
	case "unix", "fifo":
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
	return Addr{Scheme: scheme, Target: rest}, nil
}
