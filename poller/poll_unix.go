//go:build unix

package poller

// NewPoll returns a poll(2) poller. (Placeholder: being written.)
func NewPoll() (Poller, error) { return nil, ErrUnsupported }
