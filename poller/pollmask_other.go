//go:build unix && !aix

package poller

// pollMask is the type of a pollfd's events and revents.
type pollMask = int16
