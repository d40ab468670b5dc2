package reactor

import "fmt"

// Dial implements Engine. (Outbound connections: not yet implemented.)
func (e *engine) Dial(network, addr string) error {
	return fmt.Errorf("%w: Dial", ErrUnsupported)
}

// listenOther binds the address forms other than tcp and unix streams.
func (e *engine) listenOther(a Addr) error {
	return fmt.Errorf("%w: %s addresses", ErrUnsupported, a.Scheme)
}

func (e *engine) watchSignals() {}
func (e *engine) stopSignals()  {}
