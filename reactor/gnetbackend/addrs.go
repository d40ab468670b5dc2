//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// A conn's addresses, as gnet reports them and as evloop promises them.

import (
	"net"
	"strings"

	"github.com/evloop/evloop/internal/socket"
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// localAddr is what an accepted conn's local address is: fixed, or (for a
// listener on an unspecified IP) read from the socket per conn.
type localAddr struct {
	addr      net.Addr
	perSocket bool
}

// acceptedLocal is an accepted conn's local address. gnet hands every conn
// its listener's address as written (port 0, 0.0.0.0; for unix, the private
// name it bound), so it is swapped for the bound one, or read from the
// socket when the listener is on an unspecified IP.
func (e *engine) acceptedLocal(gc gnet.Conn) net.Addr {
	la := gc.LocalAddr()
	if la == nil {
		return nil
	}
	var fix localAddr
	if v, ok := e.localFix.Load(la); ok {
		fix = v.(localAddr)
	} else {
		var found bool
		if fix, found = e.localByKey[la.String()]; !found {
			fix = localAddr{addr: ownAddr(la)}
		}
		e.localFix.Store(la, fix)
	}
	if !fix.perSocket {
		return fix.addr
	}
	if sa, err := unix.Getsockname(gc.Fd()); err == nil {
		if _, udp := la.(*net.UDPAddr); !udp {
			return socket.Addr("tcp", sa)
		}
	}
	return fix.addr
}

// ownAddr copies what gnet may recycle: an IPv6 zone string lives in a
// pooled buffer that gnet returns when the conn closes.
func ownAddr(a net.Addr) net.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a.Zone != "" {
			return &net.TCPAddr{IP: a.IP, Port: a.Port, Zone: strings.Clone(a.Zone)}
		}
	case *net.UDPAddr:
		if a.Zone != "" {
			return &net.UDPAddr{IP: a.IP, Port: a.Port, Zone: strings.Clone(a.Zone)}
		}
	}
	return a
}

func unspecified(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsUnspecified()
	case *net.UDPAddr:
		return a.IP.IsUnspecified()
	}
	return false
}
