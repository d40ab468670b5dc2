//go:build unix

package socket

// UnresolvedAddr is the net.Addr of an address as it was dialed, for a dial
// that failed before it had a socket address (a host name that did not
// resolve, a refused enrollment).
type UnresolvedAddr struct{ Net, Address string }

// Network returns the network dialed ("tcp", "unix").
func (a UnresolvedAddr) Network() string { return a.Net }

// String returns the address as dialed.
func (a UnresolvedAddr) String() string { return a.Address }
