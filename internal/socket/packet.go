//go:build unix

package socket

import (
	"errors"
	"fmt"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ListenPacket creates a nonblocking, close-on-exec UDP socket bound to
// address, with SO_REUSEPORT when asked so that several loops can each own
// one. It returns the fd, the bound address (port 0 resolved) and the
// address family.
func ListenPacket(network, address string, reusePort bool) (int, net.Addr, int, error) {
	sa, family, err := Sockaddr(network, address)
	if err != nil {
		return -1, nil, 0, err
	}
	fd, err := Socket(family, unix.SOCK_DGRAM, 0)
	if err != nil {
		return -1, nil, 0, err
	}
	if err := bindPacket(fd, family, sa, reusePort, v6only(network)); err != nil {
		unix.Close(fd)
		return -1, nil, 0, fmt.Errorf("listen %s %s: %w", network, address, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, 0, os.NewSyscallError("getsockname", err)
	}
	return fd, Addr("udp", bound), family, nil
}

func bindPacket(fd, family int, sa unix.Sockaddr, reusePort, v6Only bool) error {
	// No SO_REUSEADDR, as in package net: for UDP it would let a second
	// server bind the same port and silently take the datagrams.
	if reusePort {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
		}
	}
	setV6Only(fd, family, v6Only)
	return os.NewSyscallError("bind", unix.Bind(fd, sa))
}

// RawSockaddr is a socket address in the kernel's own form, as recvfrom
// fills it and sendto takes it. Keeping the sender of a datagram in this
// form lets a reply go back without conversion, and lets a run of datagrams
// from one sender be recognised by comparing bytes, without allocating.
type RawSockaddr struct {
	raw unix.RawSockaddrAny
	len uint32
}

// Equal tells whether a and b are the same address.
func (a *RawSockaddr) Equal(b *RawSockaddr) bool {
	if a.len != b.len {
		return false
	}
	return string(a.bytes()) == string(b.bytes())
}

func (a *RawSockaddr) bytes() []byte {
	n := min(int(a.len), int(unsafe.Sizeof(a.raw)))
	return unsafe.Slice((*byte)(unsafe.Pointer(&a.raw)), n)
}

// IsZero tells whether a holds no address.
func (a *RawSockaddr) IsZero() bool { return a.len == 0 }

// UDPAddr converts a to a *net.UDPAddr; nil if it is not an internet address.
func (a *RawSockaddr) UDPAddr() *net.UDPAddr {
	switch a.family() {
	case unix.AF_INET:
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.raw))
		return &net.UDPAddr{IP: net.IPv4(p.Addr[0], p.Addr[1], p.Addr[2], p.Addr[3]), Port: portOf(&p.Port)}
	case unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.raw))
		ip := make(net.IP, net.IPv6len)
		copy(ip, p.Addr[:])
		zone := ""
		if p.Scope_id != 0 {
			if ifi, err := net.InterfaceByIndex(int(p.Scope_id)); err == nil {
				zone = ifi.Name
			}
		}
		return &net.UDPAddr{IP: ip, Port: portOf(&p.Port), Zone: zone}
	}
	return nil
}

func (a *RawSockaddr) family() int {
	if a.len == 0 {
		return unix.AF_UNSPEC
	}
	return int(a.raw.Addr.Family)
}

// portOf reads a port stored in network byte order.
func portOf(p *uint16) int {
	b := (*[2]byte)(unsafe.Pointer(p))
	return int(b[0])<<8 | int(b[1])
}

func setPort(p *uint16, port int) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

// ErrAddressFamily is returned for an address a socket of another family
// cannot send to.
var ErrAddressFamily = errors.New("socket: address does not fit the socket's family")

// RawFromUDP fills a with addr, for a socket of the given family: an IPv4
// address becomes IPv4-mapped for an AF_INET6 socket.
func RawFromUDP(a *RawSockaddr, addr *net.UDPAddr, family int) error {
	*a = RawSockaddr{}
	ip4 := addr.IP.To4()
	switch {
	case family == unix.AF_INET && (ip4 != nil || addr.IP == nil):
		p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&a.raw))
		p.Family = unix.AF_INET
		setPort(&p.Port, addr.Port)
		copy(p.Addr[:], ip4)
		a.len = unix.SizeofSockaddrInet4
		setLenInet4(p)
	case family == unix.AF_INET6:
		p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&a.raw))
		p.Family = unix.AF_INET6
		setPort(&p.Port, addr.Port)
		copy(p.Addr[:], addr.IP.To16())
		if addr.Zone != "" {
			if ifi, err := net.InterfaceByName(addr.Zone); err == nil {
				p.Scope_id = uint32(ifi.Index)
			}
		}
		a.len = unix.SizeofSockaddrInet6
		setLenInet6(p)
	default:
		return fmt.Errorf("%w: %s", ErrAddressFamily, addr)
	}
	return nil
}

// Recvfrom receives one datagram into p and its sender into from, with one
// system call and no allocation (unix.Recvfrom allocates the sender). EINTR
// is retried; EAGAIN is returned as it is. fd must be nonblocking: the call
// is raw (see Read).
func Recvfrom(fd int, p []byte, from *RawSockaddr) (int, error) {
	if len(p) == 0 {
		return 0, errors.New("socket: recvfrom into an empty buffer")
	}
	for {
		from.len = unix.SizeofSockaddrAny
		n, _, errno := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0,
			uintptr(unsafe.Pointer(&from.raw)), uintptr(unsafe.Pointer(&from.len)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			from.len = 0
			return 0, errno
		}
		return int(n), nil
	}
}

// Sendto sends p as one datagram to to, without allocating. EINTR is
// retried; EAGAIN is returned as it is. fd must be nonblocking: the call is
// raw (see Read).
func Sendto(fd int, p []byte, to *RawSockaddr) (int, error) {
	var base unsafe.Pointer
	if len(p) > 0 {
		base = unsafe.Pointer(&p[0])
	}
	for {
		n, _, errno := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(base), uintptr(len(p)), 0,
			uintptr(unsafe.Pointer(&to.raw)), uintptr(to.len))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return 0, errno
		}
		return int(n), nil
	}
}
