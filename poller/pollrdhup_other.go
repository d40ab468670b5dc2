//go:build unix && !linux

package poller

// pollRDHUP is Linux-only; elsewhere a half-close shows as POLLIN and a read
// of zero bytes.
const pollRDHUP = 0
