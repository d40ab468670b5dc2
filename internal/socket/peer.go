//go:build unix

package socket

import (
	"net"

	"golang.org/x/sys/unix"
)

// InetAddr is an IPv4 or IPv6 address and port held by value, so that an
// accepted conn needs no net.Addr until someone asks for one.
type InetAddr struct {
	IP     [16]byte // IPv4 in the first 4 bytes
	Port   uint16
	Family uint8 // 0: unset, 4 or 6
}

// TCPAddr builds the address as a *net.TCPAddr, or nil when unset.
func (a *InetAddr) TCPAddr() *net.TCPAddr {
	switch a.Family {
	case 4:
		return &net.TCPAddr{IP: net.IPv4(a.IP[0], a.IP[1], a.IP[2], a.IP[3]), Port: int(a.Port)}
	case 6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, a.IP[:])
		return &net.TCPAddr{IP: ip, Port: int(a.Port)}
	}
	return nil
}

// IPBytes is the address's IP (4 or 16 bytes) without copying, or nil.
func (a *InetAddr) IPBytes() []byte {
	switch a.Family {
	case 4:
		return a.IP[:4]
	case 6:
		return a.IP[:]
	}
	return nil
}

// Peer is the remote address accept returned: inline (Inet) for IPv4 and
// IPv6 without a zone, else a net.Addr (unix sockets, zoned IPv6).
type Peer struct {
	Inet InetAddr
	Addr net.Addr
}

// IsInet tells whether the peer is an internet address: TCP options apply.
func (p *Peer) IsInet() bool {
	if p.Inet.Family != 0 {
		return true
	}
	_, ok := p.Addr.(*net.TCPAddr)
	return ok
}

// PeerOf converts a sockaddr of an accepted stream conn.
func PeerOf(network string, sa unix.Sockaddr) Peer {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		p := Peer{Inet: InetAddr{Port: uint16(sa.Port), Family: 4}}
		copy(p.Inet.IP[:], sa.Addr[:])
		return p
	case *unix.SockaddrInet6:
		if sa.ZoneId == 0 {
			return Peer{Inet: InetAddr{IP: sa.Addr, Port: uint16(sa.Port), Family: 6}}
		}
	}
	a := Addr(network, sa)
	if a == nil {
		a = &net.UnixAddr{Net: "unix"}
	}
	return Peer{Addr: a}
}

// AcceptBuf is the scratch one accepting goroutine reuses for the peer's
// raw address, so that accept allocates nothing per conn.
type AcceptBuf struct {
	rsa unix.RawSockaddrAny
	len uint32
}
