package reactor_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/proxyproto"
	"github.com/evloop/evloop/reactor"
)

// TestProxyLayerBoundsTLVs: a header with more TLVs than the layer's bound
// (proxyproto.DefaultMaxTLVs, or WithProxyMaxTLVs) closes its conn as a
// malformed one, instead of keeping every TLV for the conn's life.
func TestProxyLayerBoundsTLVs(t *testing.T) {
	header := func(count int) []byte {
		h := &proxyproto.Header{Command: proxyproto.Proxy,
			Source:      &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 4242},
			Destination: &net.TCPAddr{IP: net.IPv4(198, 51, 100, 1), Port: 443}}
		for range count {
			h.TLVs = append(h.TLVs, proxyproto.TLV{Type: proxyproto.TypeNoop})
		}
		b, err := h.AppendV2(nil)
		require.NoError(t, err)
		return b
	}
	for _, be := range plBackends {
		t.Run(be.name, func(t *testing.T) {
			checkFDs(t)
			s := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny())
			_, r := s.dial(t, header(1361))
			requireClosedByServer(t, r)
			require.ErrorIs(t, s.nextRefusal(t), proxyproto.ErrTooManyTLVs)
			_, r = s.dial(t, header(proxyproto.DefaultMaxTLVs))
			require.Equal(t, "remote=203.0.113.7:4242 local=198.51.100.1:443 cmd=PROXY authority= alpn=", readLine(t, r))

			small := startPLServer(t, be.opts, reactor.ProxyRequired, reactor.WithProxyTrustAny(), reactor.WithProxyMaxTLVs(2))
			_, r = small.dial(t, header(3))
			requireClosedByServer(t, r)
			require.ErrorIs(t, small.nextRefusal(t), proxyproto.ErrTooManyTLVs)
			require.Equal(t, int64(1), small.layer.Stats().Malformed)
		})
	}
}
