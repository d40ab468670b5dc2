package conn

import "crypto/tls"

// TLSInfo is implemented by a conn that carries TLS, such as the conn a TLS
// layer gives the handler inside it. A protocol package (HTTP's request
// TLS state, WebSocket's wss) asks for the handshake's outcome through it,
// so that it depends on this contract only, not on the layer that made the
// conn. A layer that wraps such a conn in one of its own passes it on by
// implementing TLSInfo too.
type TLSInfo interface {
	// ConnectionState is the handshake's outcome: version, cipher suite,
	// ALPN protocol, SNI server name, peer certificates (loop only).
	ConnectionState() tls.ConnectionState
}

// TLSState returns c's TLS state, and false for a conn without TLS.
func TLSState(c Conn) (tls.ConnectionState, bool) {
	if t, ok := c.(TLSInfo); ok {
		return t.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}
