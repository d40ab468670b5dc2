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

// nextOwner picks the loop for a UDP socket or a FIFO. They are served on
// the loop that watches them (a datagram has no conn to hand off, and FIFO
// requests are cheap), so successive ones are spread over the loops.
func (e *engine) nextOwner() *loop { return e.loops[len(e.addrs)%len(e.loops)] }
