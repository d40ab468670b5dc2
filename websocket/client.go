package websocket

// readClientHandshake reads the server's answer to a client's opening
// request. Clients are not built yet: a client conn is refused.
func (c *Conn) readClientHandshake() {
	c.cutOff(ErrHandshakeTimeout)
}
