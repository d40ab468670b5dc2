package reactor

import "fmt"

// listenOther binds the address forms other than tcp and unix streams.
func (e *engine) listenOther(a Addr, r *route) error {
	switch a.Scheme {
	case "udp", "udp4", "udp6":
		return e.listenUDP(a, r)
	case "fifo":
		return e.listenFIFO(a, r)
	case "fd":
		return e.listenFD(a, r)
	case "systemd":
		return e.listenSystemd(a, r)
	}
	return fmt.Errorf("%w: %s addresses", ErrUnsupported, a.Scheme)
}
