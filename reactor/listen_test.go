package reactor_test

// What Start binds.

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// tcp6:// serves IPv6 only, as net.Listen("tcp6") does, so that tcp4 and
// tcp6 wildcards can share a port.
func TestTCP6AndTCP4ShareAPort(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6:", err)
	}
	probe.Close()
	e4, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp4://127.0.0.1:0"}, reactor.WithLoops(1))
	require.NoError(t, err)
	defer e4.Stop(context.Background())
	port := e4.Addrs()[0].(*net.TCPAddr).Port
	e6, err := reactor.Start(reactor.BaseHandler{}, []string{"tcp6://[::]:" + strconv.Itoa(port)}, reactor.WithLoops(1))
	require.NoError(t, err, "tcp6 on the port tcp4 holds")
	defer e6.Stop(context.Background())
}
