//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package socket

import "golang.org/x/sys/unix"

// BSD sockaddrs begin with their own length.
func setLenInet4(p *unix.RawSockaddrInet4) { p.Len = unix.SizeofSockaddrInet4 }
func setLenInet6(p *unix.RawSockaddrInet6) { p.Len = unix.SizeofSockaddrInet6 }

// abstractNamespace: the BSDs have none; "@name" is a file.
const abstractNamespace = false
