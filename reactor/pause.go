package reactor

import (
	"fmt"

	"github.com/evloop/evloop/conn"
)

// Pausing a layer's conn (conn.ReadPauser) pauses the conn under it: the
// TLS and PROXY layers' conns take nothing that the raw conn does not give
// them, so the raw conn's pause holds the whole stack.

// pauserUnder is the conn.ReadPauser under a layer's conn, or the error
// that says the conn cannot pause (a gnet conn).
func pauserUnder(raw conn.Conn) (conn.ReadPauser, error) {
	if p, ok := raw.(conn.ReadPauser); ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: PauseRead: the conn under this one cannot pause reading", ErrUnsupported)
}

// PauseRead implements conn.ReadPauser.
func (c *tlsConn) PauseRead() error {
	p, err := pauserUnder(c.raw)
	if err != nil {
		return err
	}
	return p.PauseRead()
}

// ResumeRead implements conn.ReadPauser: plaintext already decrypted is
// offered again with an OnTraffic.
func (c *tlsConn) ResumeRead() error {
	p, err := pauserUnder(c.raw)
	if err != nil {
		return err
	}
	if err := p.ResumeRead(); err != nil {
		return err
	}
	if c.InboundBuffered() > 0 {
		return c.Wake()
	}
	return nil
}

// PauseRead implements conn.ReadPauser.
func (pc *proxyConn) PauseRead() error {
	p, err := pauserUnder(pc.raw)
	if err != nil {
		return err
	}
	return p.PauseRead()
}

// ResumeRead implements conn.ReadPauser.
func (pc *proxyConn) ResumeRead() error {
	p, err := pauserUnder(pc.raw)
	if err != nil {
		return err
	}
	return p.ResumeRead()
}

var (
	_ conn.ReadPauser = (*tlsConn)(nil)
	_ conn.ReadPauser = (*proxyConn)(nil)
)
