package socket

import (
	"net"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket creates a nonblocking, close-on-exec socket in one syscall.
func Socket(family, typ, proto int) (int, error) {
	fd, err := unix.Socket(family, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// AcceptInheritsOptions tells whether an accepted socket inherits TCP_NODELAY,
// keep-alive and buffer sizes from its listener: Linux clones the listener's
// socket, so setting them once on the listener saves syscalls per conn.
const AcceptInheritsOptions = true

// Accept accepts one conn as a nonblocking, close-on-exec fd. EINTR is
// retried; other errors, EAGAIN included, are returned as they are. The
// peer's address lands in buf and comes back by value: for IP peers nothing
// is allocated (x/sys's Accept4 allocates about 180 bytes per conn). The
// listener must be nonblocking: the call is raw (see Read).
func Accept(fd int, network string, buf *AcceptBuf) (int, Peer, error) {
	for {
		buf.len = unix.SizeofSockaddrAny
		nfd, _, errno := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd),
			uintptr(unsafe.Pointer(&buf.rsa)), uintptr(unsafe.Pointer(&buf.len)),
			unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch errno {
		case 0:
			return int(nfd), rawPeer(network, buf), nil
		case unix.EINTR:
			continue
		}
		return -1, Peer{}, errno
	}
}

// rawPeer decodes the address accept4 wrote.
func rawPeer(network string, buf *AcceptBuf) Peer {
	switch buf.rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&buf.rsa))
		p := Peer{Inet: InetAddr{Port: ntohs(sa.Port), Family: 4}}
		copy(p.Inet.IP[:], sa.Addr[:])
		return p
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&buf.rsa))
		if sa.Scope_id == 0 {
			return Peer{Inet: InetAddr{IP: sa.Addr, Port: ntohs(sa.Port), Family: 6}}
		}
		return PeerOf(network, &unix.SockaddrInet6{Port: int(ntohs(sa.Port)), ZoneId: sa.Scope_id, Addr: sa.Addr})
	case unix.AF_UNIX:
		sa := (*unix.RawSockaddrUnix)(unsafe.Pointer(&buf.rsa))
		n := int(buf.len) - 2 // less sun_family
		if n <= 0 {
			return Peer{Addr: &net.UnixAddr{Net: "unix"}}
		}
		name := make([]byte, 0, n)
		for i := 0; i < n && i < len(sa.Path); i++ {
			if sa.Path[i] == 0 && i > 0 {
				break
			}
			name = append(name, byte(sa.Path[i]))
		}
		if len(name) > 0 && name[0] == 0 {
			name[0] = '@' // abstract, as x/sys/unix names it
		}
		return Peer{Addr: &net.UnixAddr{Name: string(name), Net: "unix"}}
	}
	return Peer{Addr: &net.UnixAddr{Net: "unix"}}
}

// ntohs reads a port in network byte order.
func ntohs(port uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&port))
	return uint16(b[0])<<8 | uint16(b[1])
}

// SetKeepAlive enables keep-alive probes every period (0: off).
func SetKeepAlive(fd int, period time.Duration) error {
	if period <= 0 {
		return nil
	}
	secs := int((period + time.Second - 1) / time.Second)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_KEEPALIVE", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs)
	return os.NewSyscallError("setsockopt TCP_KEEPIDLE", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs))
}
