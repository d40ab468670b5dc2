//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package poller

func platformWakeupOf(p Poller) *wakeup { return p.(*kqueue).wake }
