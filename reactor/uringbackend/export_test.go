//go:build linux

package uringbackend

// SetProbe replaces the io_uring probe for a test; the returned func
// restores it.
func SetProbe(p func() error) (restore func()) {
	old := probe
	probe = p
	return func() { probe = old }
}
