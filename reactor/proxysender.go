package reactor

import (
	"fmt"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/proxyproto"
)

// ProxySender is a Handler for dialed conns that writes a PROXY protocol
// header ahead of anything the next Handler writes, so that a proxy built
// on the engine passes its client's address on to the server it dials.
// Next sees the raw conn; the sender adds nothing per conn, and passes
// every other callback (OnStop, OnDrained among them) on.
type ProxySender struct {
	Forward
	version int
	header  func(c conn.Conn) *proxyproto.Header
}

// NewProxySender wraps next: in OnOpen, before next's, it writes the header
// that header returns for the conn (nil: none) in PROXY protocol version 1
// or 2. A header that cannot be encoded closes the conn before next's
// OnOpen; next's OnClose then gets the error, as for a dial that failed.
func NewProxySender(next Handler, version int, header func(c conn.Conn) *proxyproto.Header) (*ProxySender, error) {
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("reactor: PROXY protocol version %d", version)
	}
	if header == nil {
		return nil, fmt.Errorf("reactor: PROXY sender without a header function")
	}
	return &ProxySender{Forward: Forward{Next: next}, version: version, header: header}, nil
}

// ProxyHeaderFrom is the header that passes on the client of an accepted
// conn (its RemoteAddr and LocalAddr, as a ProxyLayer in front of it
// reports them): the usual header function of a proxy.
func ProxyHeaderFrom(client conn.Conn) *proxyproto.Header {
	return &proxyproto.Header{Command: proxyproto.Proxy, Source: client.RemoteAddr(), Destination: client.LocalAddr()}
}

// proxySendFailure marks, in the raw conn's context slot, a conn closed
// because its header could not be encoded.
type proxySendFailure struct{ err error }

// OnOpen implements Handler: the header goes out first.
func (s *ProxySender) OnOpen(c conn.Conn) Action {
	if h := s.header(c); h != nil {
		var buf [256]byte
		var b []byte
		var err error
		if s.version == 1 {
			b, err = h.AppendV1(buf[:0])
		} else {
			b, err = h.AppendV2(buf[:0])
		}
		if err == nil {
			_, err = c.Write(b)
		}
		if err != nil {
			c.SetContext(&proxySendFailure{err: fmt.Errorf("reactor: sending the PROXY header: %w", err)})
			return Close
		}
	}
	return s.Next.OnOpen(c)
}

// OnClose implements Handler.
func (s *ProxySender) OnClose(c conn.Conn, err error) {
	if f, ok := c.Context().(*proxySendFailure); ok {
		c.SetContext(nil)
		err = f.err
	}
	s.Next.OnClose(c, err)
}
