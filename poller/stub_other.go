//go:build !linux

package poller

func newEpoll() (Poller, error) { return nil, ErrUnsupported }
