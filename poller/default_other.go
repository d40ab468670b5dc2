//go:build unix && !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package poller

// Unixes with neither epoll nor kqueue (solaris, illumos, aix) default to
// poll(2).
func newDefault() (Poller, error) { return NewPoll() }

func newKqueue() (Poller, error) { return nil, ErrUnsupported }
