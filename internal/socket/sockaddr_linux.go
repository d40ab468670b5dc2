package socket

import "golang.org/x/sys/unix"

// Linux sockaddrs carry no length byte.
func setLenInet4(*unix.RawSockaddrInet4) {}
func setLenInet6(*unix.RawSockaddrInet6) {}

// abstractNamespace: a unix address "@name" is abstract, not a file.
const abstractNamespace = true
