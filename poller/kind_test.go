package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestKindString(t *testing.T) {
	for k, s := range map[Kind]string{Auto: "auto", Epoll: "epoll", Poll: "poll", Kqueue: "kqueue", Kind(9): "Kind(9)"} {
		require.Equal(t, s, k.String())
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{Auto, Epoll, Poll, Kqueue} {
		got, err := ParseKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := ParseKind("select")
	require.ErrorContains(t, err, `"select"`)
	_, err = ParseKind("EPOLL")
	require.Error(t, err, "flag values are lower case")
}

func TestEventString(t *testing.T) {
	for ev, s := range map[Event]string{
		0:                           "none",
		Readable:                    "readable",
		Writable:                    "writable",
		Readable | Writable:         "readable|writable",
		Hangup | Error | ReadHangup: "hangup|error|read-hangup",
	} {
		require.Equal(t, s, ev.String())
	}
}

func TestNew(t *testing.T) {
	// kinds lists the native poller first, then poll(2).
	available := kinds(t)
	require.Equal(t, Poll, available[len(available)-1], "poll(2) exists on every unix")
	require.LessOrEqual(t, len(available), 2, "epoll and kqueue never coexist")

	p, err := New(Auto)
	require.NoError(t, err)
	require.Equal(t, available[0], p.Kind(), "Auto prefers the native poller")
	require.NoError(t, p.Close())

	_, err = New(Kind(42))
	require.ErrorIs(t, err, ErrUnsupported)
}
