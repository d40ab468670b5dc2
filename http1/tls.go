package http1

import (
	"crypto/tls"
	"slices"
)

// ALPN is the protocol name HTTP/1.1 is negotiated by over TLS (RFC 7301).
const ALPN = "http/1.1"

// TLSConfig returns a copy of cfg (for reactor.WithTLS on a tls://
// listener) that offers ALPN "http/1.1" to the clients that ask: a client
// offering h2 and http/1.1 learns that it speaks HTTP/1.1, and one that
// offers only h2 is refused at the handshake rather than misread. Its
// other fields are kept; NextProtos already naming http/1.1 is left as is.
func TLSConfig(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	if c == nil {
		c = &tls.Config{}
	}
	if !slices.Contains(c.NextProtos, ALPN) {
		c.NextProtos = append(slices.Clip(c.NextProtos), ALPN)
	}
	return c
}
