//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/poller"
	"github.com/evloop/evloop/reactor"
)

func TestUnsupportedOptionsFailStart(t *testing.T) {
	for name, opt := range map[string]reactor.Option{
		"poll poller": reactor.WithPoller(poller.Poll),
		"loops":       reactor.WithLoops(maxLoops + 1),
		"busy poll":   reactor.WithBusyPoll(50 * time.Microsecond),
	} {
		_, err := reactor.Start(newRecorder(), []string{"tcp://127.0.0.1:0"}, reactor.WithBackend(New()), opt)
		require.ErrorIs(t, err, reactor.ErrUnsupported, name)
	}
	// The poller gnet really uses is no conflict.
	e := start(t, newRecorder(), []string{"tcp://127.0.0.1:0"}, reactor.WithPoller(gnetPoller))
	require.Len(t, e.Addrs(), 1)
}
