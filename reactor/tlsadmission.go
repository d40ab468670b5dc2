package reactor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Admission of TLS handshakes. A handshake holds a slot from the conn's
// OnOpen until it completes or fails. Slots are capped over all layers that
// share TLSCounters (MaxHandshakes), and a server's are also capped per
// source address (MaxHandshakesPerSource), so that one host opening silent
// conns cannot take every slot and keep the others' handshakes out.

// TLSCounters count a TLS layer's handshakes; safe from any goroutine.
type TLSCounters struct {
	handshakes atomic.Int64
	failures   atomic.Int64
	rejected   atomic.Int64
	inProgress atomic.Int64
	sources    handshakeSources // a server's handshakes in progress per source
}

// Stats returns the counters' values.
func (c *TLSCounters) Stats() TLSStats {
	return TLSStats{
		Handshakes:           c.handshakes.Load(),
		HandshakeFailures:    c.failures.Load(),
		HandshakesRejected:   c.rejected.Load(),
		HandshakesInProgress: c.inProgress.Load(),
	}
}

// handshakeSources counts, per source, the handshakes in progress.
type handshakeSources struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

// take counts one more handshake from src, unless src has max already.
func (s *handshakeSources) take(src netip.Addr, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[src] >= max {
		return false
	}
	if s.n == nil {
		s.n = make(map[netip.Addr]int)
	}
	s.n[src]++
	return true
}

func (s *handshakeSources) give(src netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[src] <= 1 {
		delete(s.n, src) // the map holds only sources with handshakes
		return
	}
	s.n[src]--
}

// handshakeSlot is a conn's place among the handshakes in progress.
type handshakeSlot struct {
	counters *TLSCounters // nil: no slot held
	src      netip.Addr   // valid: also counted for this source
}

// release gives the slot back, once.
func (s *handshakeSlot) release() {
	if s.counters == nil {
		return
	}
	s.counters.inProgress.Add(-1)
	if s.src.IsValid() {
		s.counters.sources.give(s.src)
	}
	*s = handshakeSlot{}
}

// Errors of handshake admission, for errors.Is.
var (
	// ErrTooManyHandshakes closes a conn that arrives with MaxHandshakes in
	// progress.
	ErrTooManyHandshakes = errors.New("reactor: too many TLS handshakes in progress")
	// ErrTooManyHandshakesFromSource closes a conn that arrives with
	// MaxHandshakesPerSource in progress from its source.
	ErrTooManyHandshakesFromSource = fmt.Errorf("%w from one source", ErrTooManyHandshakes)
)

// admit takes a handshake slot for a conn from remote, or says which bound
// refused it: maxHS in progress over all (0: none), perSource from remote's
// source (0: none).
func (cs *TLSCounters) admit(remote net.Addr, maxHS int64, perSource int) (handshakeSlot, error) {
	if n := cs.inProgress.Add(1); maxHS > 0 && n > maxHS {
		cs.inProgress.Add(-1)
		return handshakeSlot{}, ErrTooManyHandshakes
	}
	slot := handshakeSlot{counters: cs}
	if perSource > 0 {
		if src, ok := sourceOf(remote); ok {
			if !cs.sources.take(src, perSource) {
				cs.inProgress.Add(-1)
				return handshakeSlot{}, ErrTooManyHandshakesFromSource
			}
			slot.src = src
		}
	}
	return slot, nil
}

// sourceOf is the source a per-source bound counts remote under: its IPv4
// address, or the /64 network of its IPv6 address (what one host is usually
// given). A peer with no IP address (a unix socket) has none.
func sourceOf(remote net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case nil:
		return ip, false
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return ip, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid():
		return ip, false
	case ip.Is6():
		return netip.PrefixFrom(ip, 64).Masked().Addr(), true
	}
	return ip, true
}
