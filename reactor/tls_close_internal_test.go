package reactor

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
)

// TestTLSCloseCause lists every cause a TLS conn may close with, and the
// facts that choose it: the paths the raw conn's OnClose chooses between.
func TestTLSCloseCause(t *testing.T) {
	reset := syscall.ECONNRESET
	badCert := errors.New("x509: certificate signed by unknown authority")
	badMAC := errors.New("local error: tls: bad record MAC")
	aborted := errHandshakeAborted
	for _, tc := range []struct {
		name string
		f    closeFacts
		want error // nil: a clean close
	}{
		// During the handshake (a server counts it; a client's dial fails with it).
		{"handshake timed out", closeFacts{abortErr: ErrHandshakeTimeout, hsErr: ErrHandshakeTimeout}, ErrHandshakeTimeout},
		{"no first byte", closeFacts{abortErr: errFirstByteTimeout, hsErr: errFirstByteTimeout}, errFirstByteTimeout},
		{"timed out, then the raw conn reset", closeFacts{abortErr: ErrHandshakeTimeout, rawErr: reset}, ErrHandshakeTimeout},
		{"the verdict came first", closeFacts{hsErr: badCert, abortErr: aborted}, badCert},
		{"the verdict beats the raw cause", closeFacts{hsErr: badCert, rawErr: reset}, badCert},
		{"aborted by the close: the raw cause", closeFacts{hsErr: aborted, abortErr: aborted, rawErr: reset}, reset},
		{"no verdict yet: the raw cause", closeFacts{abortErr: aborted, rawErr: reset}, reset},
		{"aborted by a clean EOF", closeFacts{hsErr: aborted, abortErr: aborted}, io.ErrUnexpectedEOF},
		{"no verdict, clean EOF", closeFacts{abortErr: aborted}, io.ErrUnexpectedEOF},

		// Once open (the next OnClose's cause).
		{"the layer's own cause", closeFacts{open: true, cause: conn.ErrInboundTooLarge, rawErr: reset, peerClosed: true}, conn.ErrInboundTooLarge},
		{"a record error", closeFacts{open: true, cause: badMAC}, badMAC},
		{"the peer's close_notify", closeFacts{open: true, peerClosed: true}, nil},
		{"close_notify, then a reset", closeFacts{open: true, peerClosed: true, rawErr: reset}, nil},
		{"a reset", closeFacts{open: true, rawErr: reset}, reset},
		{"a reset after ours", closeFacts{open: true, closeSent: true, rawErr: reset}, reset},
		{"EOF after our close_notify", closeFacts{open: true, closeSent: true}, nil},
		{"EOF inside a record", closeFacts{open: true, midRecord: true}, ErrTLSRecordTruncated},
		{"EOF inside a record as the engine stops", closeFacts{open: true, midRecord: true, stopping: true}, ErrTLSRecordTruncated},
		{"EOF at a record boundary", closeFacts{open: true}, ErrTLSTruncated},
		{"closed by the stopping engine", closeFacts{open: true, stopping: true}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, closeCause(tc.f))
		})
	}
}

func TestTLSTruncatedErrors(t *testing.T) {
	require.ErrorIs(t, ErrTLSRecordTruncated, ErrTLSTruncated)
	require.NotContains(t, ErrTLSTruncated.Error(), "inside a record", "an EOF at a record boundary is not inside one")
	require.Contains(t, ErrTLSRecordTruncated.Error(), "inside a record")
	require.ErrorIs(t, errFirstByteTimeout, ErrHandshakeTimeout)
	require.ErrorIs(t, ErrTooManyHandshakesFromSource, ErrTooManyHandshakes)
}

// TestTLSStateMoves checks the table of a TLS conn's states: the moves it
// allows, and that moveTo refuses any other.
func TestTLSStateMoves(t *testing.T) {
	allowed := map[[2]tlsState]bool{
		{tlsHandshaking, tlsOpen}:       true,
		{tlsHandshaking, tlsFailed}:     true,
		{tlsHandshaking, tlsVerdictDue}: true,
		{tlsOpen, tlsClosed}:            true,
		{tlsFailed, tlsDialFailed}:      true,
		{tlsVerdictDue, tlsDialFailed}:  true,
		{tlsVerdictDue, tlsOpen}:        true,
	}
	for from := range numTLSStates {
		require.NotContains(t, from.String(), "tlsState(")
		for to := range numTLSStates {
			want := allowed[[2]tlsState{from, to}]
			require.Equal(t, want, canMove(from, to), "%v -> %v", from, to)
			c := &tlsConn{}
			c.st.Store(uint32(from))
			if want {
				c.moveTo(to)
				require.Equal(t, to, c.state())
			} else {
				require.Panics(t, func() { c.moveTo(to) }, "%v -> %v", from, to)
				require.Equal(t, from, c.state())
			}
		}
	}
	// Only open and closed conns have their tls.Conn on the loop.
	for s := range numTLSStates {
		c := &tlsConn{}
		c.st.Store(uint32(s))
		require.Equal(t, s == tlsOpen || s == tlsClosed, c.loopOwned(), "%v", s)
	}
}

// TestTLSHandshakeSources: the per-source bound counts an IPv4 address, or
// an IPv6 /64, and gives every slot back.
func TestTLSHandshakeSources(t *testing.T) {
	l := newTLSLayer(BaseHandler{}, nil, false, TLSOptions{MaxHandshakes: 8})
	require.Equal(t, 2, l.perSource, "a quarter of the cap")
	tcp := func(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }
	var slots []handshakeSlot
	take := func(a net.Addr) error {
		s, err := l.counters.admit(a, l.maxHS, l.perSource)
		if err == nil {
			slots = append(slots, s)
		}
		return err
	}
	require.NoError(t, take(tcp("10.0.0.1:1")))
	require.NoError(t, take(tcp("[::ffff:10.0.0.1]:2")), "a v4-mapped address is the same source")
	require.ErrorIs(t, take(tcp("10.0.0.1:3")), ErrTooManyHandshakesFromSource)
	require.NoError(t, take(tcp("[2001:db8::1]:1")))
	require.NoError(t, take(tcp("[2001:db8::2]:1")))
	require.ErrorIs(t, take(tcp("[2001:db8::ffff:3]:1")), ErrTooManyHandshakesFromSource, "one /64")
	require.NoError(t, take(tcp("[2001:db8:0:1::1]:1")), "another /64")
	unix := &net.UnixAddr{Name: "@x", Net: "unix"}
	require.NoError(t, take(unix))
	require.NoError(t, take(unix), "no source: no per-source bound")
	require.NoError(t, take(tcp("10.0.0.2:1")))
	require.ErrorIs(t, take(tcp("10.0.0.9:1")), ErrTooManyHandshakes, "the cap of 8")
	require.Equal(t, int64(8), l.counters.inProgress.Load())
	for i := range slots {
		slots[i].release()
		slots[i].release() // once only
	}
	require.Zero(t, l.counters.inProgress.Load())
	require.Empty(t, l.counters.sources.n)

	require.Equal(t, 1, newTLSLayer(BaseHandler{}, nil, false, TLSOptions{MaxHandshakes: 3}).perSource)
	require.Zero(t, newTLSLayer(BaseHandler{}, nil, false, TLSOptions{MaxHandshakes: -1}).perSource, "no cap: no per-source cap")
	require.Zero(t, newTLSLayer(BaseHandler{}, nil, false, TLSOptions{MaxHandshakesPerSource: -1}).perSource)
	require.Equal(t, DefaultMaxHandshakes/4, newTLSLayer(BaseHandler{}, nil, false, TLSOptions{}).perSource)
}
