//go:build unix

// Package socket holds the raw socket helpers the backends need:
// nonblocking close-on-exec sockets, listen, accept, socket options, and
// conversions between unix.Sockaddr and net.Addr. It exists so that the
// reactor never touches the net package's own poller.
package socket

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// Backlog is the listen(2) backlog; the kernel caps it at somaxconn.
const Backlog = 4096

// Sockaddr resolves a network ("tcp", "tcp4", "tcp6", "udp"..., "unix") and
// address into a sockaddr and its address family.
func Sockaddr(network, address string) (unix.Sockaddr, int, error) {
	switch network {
	case "unix", "unixgram", "unixpacket":
		return &unix.SockaddrUnix{Name: address}, unix.AF_UNIX, nil
	}
	var ip net.IP
	var port int
	var zone string
	switch network {
	case "tcp", "tcp4", "tcp6":
		a, err := net.ResolveTCPAddr(network, address)
		if err != nil {
			return nil, 0, err
		}
		ip, port, zone = a.IP, a.Port, a.Zone
	case "udp", "udp4", "udp6":
		a, err := net.ResolveUDPAddr(network, address)
		if err != nil {
			return nil, 0, err
		}
		ip, port, zone = a.IP, a.Port, a.Zone
	default:
		return nil, 0, fmt.Errorf("socket: unknown network %q", network)
	}
	last := network[len(network)-1]
	if ip4 := ip.To4(); ip4 != nil && last != '6' {
		sa := &unix.SockaddrInet4{Port: port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	if ip == nil && last == '4' {
		return &unix.SockaddrInet4{Port: port}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: port}
	if ip != nil {
		copy(sa.Addr[:], ip.To16())
	}
	if zone != "" {
		if ifi, err := net.InterfaceByName(zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return sa, unix.AF_INET6, nil
}

// Addr converts a sockaddr into the net.Addr of the given network family
// ("tcp", "udp" or "unix").
func Addr(network string, sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		ip := net.IPv4(sa.Addr[0], sa.Addr[1], sa.Addr[2], sa.Addr[3])
		if isUDP(network) {
			return &net.UDPAddr{IP: ip, Port: sa.Port}
		}
		return &net.TCPAddr{IP: ip, Port: sa.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, net.IPv6len)
		copy(ip, sa.Addr[:])
		zone := ""
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		if isUDP(network) {
			return &net.UDPAddr{IP: ip, Port: sa.Port, Zone: zone}
		}
		return &net.TCPAddr{IP: ip, Port: sa.Port, Zone: zone}
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}

func isUDP(network string) bool {
	return len(network) >= 3 && network[:3] == "udp"
}

// Listen creates a nonblocking, close-on-exec listening socket. For unix
// sockets a stale socket file is removed first (RemoveStaleUnixSocket); a
// live one or a non-socket file is an error.
//
// setup, if not nil, runs on internet sockets before bind and listen: options
// that accepted conns inherit belong there, set before any peer can connect.
func Listen(network, address string, reusePort bool, setup func(fd int)) (int, net.Addr, error) {
	sa, family, err := Sockaddr(network, address)
	if err != nil {
		return -1, nil, err
	}
	if family == unix.AF_UNIX {
		if err := RemoveStaleUnixSocket(address); err != nil {
			return -1, nil, err
		}
	}
	fd, err := Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, nil, err
	}
	if setup != nil && family != unix.AF_UNIX {
		setup(fd)
	}
	if err := listenOn(fd, family, sa, reusePort, v6only(network)); err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("listen %s %s: %w", network, address, err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError("getsockname", err)
	}
	if family == unix.AF_UNIX {
		return fd, &net.UnixAddr{Name: address, Net: "unix"}, nil
	}
	return fd, Addr(network, bound), nil
}

func listenOn(fd, family int, sa unix.Sockaddr, reusePort, v6Only bool) error {
	if family != unix.AF_UNIX {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
		}
		if reusePort {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
				return os.NewSyscallError("setsockopt SO_REUSEPORT", err)
			}
		}
	}
	setV6Only(fd, family, v6Only)
	if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, Backlog); err != nil {
		return os.NewSyscallError("listen", err)
	}
	return nil
}

// v6only tells whether network pins IPv6 (tcp6, udp6), as in package net.
func v6only(network string) bool { return network == "tcp6" || network == "udp6" }

// setV6Only makes an IPv6 socket dual-stack, unless the network pinned IPv6:
// then it serves IPv6 only, and tcp4://0.0.0.0:P and tcp6://[::]:P can both
// be served, as with package net.
func setV6Only(fd, family int, v6Only bool) {
	if family != unix.AF_INET6 {
		return
	}
	v := 0
	if v6Only {
		v = 1
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v)
}

// SetNoDelay sets TCP_NODELAY.
func SetNoDelay(fd int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return os.NewSyscallError("setsockopt TCP_NODELAY", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, v))
}

// SetBuffers sets SO_RCVBUF and SO_SNDBUF where positive.
func SetBuffers(fd, recv, send int) error {
	if recv > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, recv); err != nil {
			return os.NewSyscallError("setsockopt SO_RCVBUF", err)
		}
	}
	if send > 0 {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, send); err != nil {
			return os.NewSyscallError("setsockopt SO_SNDBUF", err)
		}
	}
	return nil
}

// SocketError returns the pending error of a socket (SO_ERROR), nil if none.
func SocketError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt SO_ERROR", err)
	}
	if v != 0 {
		return syscall.Errno(v)
	}
	return nil
}
