//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package poller

// Only poll(2) exists here, and wakeupOf handles it.
func platformWakeupOf(p Poller) *wakeup { panic("no platform poller") }
