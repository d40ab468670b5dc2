// Package systemd enables systemd:// listen addresses (socket activation)
// in package reactor. Import it for its side effect:
//
//	import _ "github.com/evloop/evloop/reactor/systemd"
//
// Without it, reactor.Start refuses a systemd:// address with
// reactor.ErrUnsupported. It is a package of its own so that go-systemd's
// activation package, which links crypto/tls, is linked only into programs
// that serve systemd:// addresses, as gnet is only through gnetbackend.
//
// The READY=1 and STOPPING=1 notifications (Type=notify) need no import:
// they are sent whenever NOTIFY_SOCKET is set.
package systemd

import (
	"os"

	"github.com/coreos/go-systemd/v22/activation"

	"github.com/evloop/evloop/reactor"
)

func init() {
	// true: unset LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, so that the
	// program's children do not take the sockets for theirs.
	reactor.RegisterActivation(func() []*os.File { return activation.Files(true) })
}
