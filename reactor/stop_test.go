package reactor_test

// Stopping an engine and draining its conns.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// WithDrainTimeout(0) means no bound: a Shutdown action's drain waits for
// output instead of cutting it at once.
func TestDrainTimeoutZeroIsNoBound(t *testing.T) {
	o := reactor.NewOptions(reactor.WithDrainTimeout(0))
	require.True(t, o.DrainDeadline().IsZero())
	ctx, cancel := o.DrainContext()
	defer cancel()
	_, has := ctx.Deadline()
	require.False(t, has)
	o = reactor.NewOptions()
	require.WithinDuration(t, time.Now().Add(reactor.DefaultDrainTimeout), o.DrainDeadline(), time.Second)
}
