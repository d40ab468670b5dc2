package reactor

import (
	"crypto/tls"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/conn"
)

// The TLS conn, by concern: this file holds its state; tlshandshake.go the
// hand-off to and from the handshake goroutine; tlstransport.go the
// net.Conn under crypto/tls; tlsrecords.go the records on the loop;
// tlsclose.go how a conn ends and with which cause; tlsplain.go the
// conn.Conn the next handler sees; tlsframer.go and tlsbuffers.go the
// record framing and the pooled buffers.

// tlsState is where a TLS conn is in its life. The loop moves it, through
// moveTo, which refuses a move the table below does not list. The handshake
// goroutine's transport reads it (to know whose it is), hence atomic.
type tlsState uint32

// The states of a TLS conn.
const (
	// tlsHandshaking: the handshake goroutine owns the tls.Conn; its
	// transport blocks on the feed.
	tlsHandshaking tlsState = iota
	// tlsOpen: the handshake completed, the goroutine is done and the loop
	// owns the tls.Conn, whose transport is nonblocking; the next handler
	// has seen OnOpen.
	tlsOpen
	// tlsClosed: was open; the next handler has seen OnClose. The loop
	// still owns the tls.Conn (ConnectionState).
	tlsClosed
	// tlsFailed: the handshake failed (or was refused); the raw conn is
	// closing. A server's next handler never hears of the conn.
	tlsFailed
	// tlsVerdictDue: the raw conn closed during the handshake; the layer
	// waits, off the loop, for the goroutine's verdict: a handshake that
	// completed opens (and at once closes) the conn, a failed one is a
	// failure (for a client, the dial's OnClose).
	tlsVerdictDue
	// tlsDialFailed: a client's next handler has seen OnClose for the
	// failed dial.
	tlsDialFailed
	numTLSStates
)

var tlsStateNames = [numTLSStates]string{"handshaking", "open", "closed", "failed", "verdict due", "dial failed"}

func (s tlsState) String() string {
	if s < numTLSStates {
		return tlsStateNames[s]
	}
	return fmt.Sprintf("tlsState(%d)", uint32(s))
}

// tlsMoves lists, for each state, the states a conn may move to from it.
var tlsMoves = [numTLSStates]uint8{
	tlsHandshaking: 1<<tlsOpen | 1<<tlsFailed | 1<<tlsVerdictDue,
	tlsOpen:        1 << tlsClosed,
	tlsFailed:      1 << tlsDialFailed,
	tlsVerdictDue:  1<<tlsOpen | 1<<tlsDialFailed,
}

// canMove says whether a conn may move from one state to another.
func canMove(from, to tlsState) bool {
	return from < numTLSStates && to < numTLSStates && tlsMoves[from]&(1<<to) != 0
}

// tlsConn is one TLS conn: the plaintext conn.Conn the next handler sees
// and the state that drives the tls.Conn below it. Fields are the loop's
// unless marked otherwise.
type tlsConn struct {
	layer *TLSLayer
	raw   conn.Conn
	tc    *tls.Conn
	tr    tlsTransport

	st atomic.Uint32 // a tlsState; see state and moveTo

	// The handshake's exchange with its goroutine, under mu.
	mu       sync.Mutex
	feed     []byte        // ciphertext received, not yet read by crypto/tls
	fed      chan struct{} // signalled when feed grows
	abort    chan struct{} // closed when the handshake must end
	abortErr error         // why abort was closed
	held     bool          // the raw conn holds ciphertext the feed had no room for
	hsDone   bool          // the goroutine's Handshake has returned
	hsErr    error
	goDone   chan struct{} // closed when the goroutine has set hsDone
	verdict  func()        // set by a client awaiting the verdict; the goroutine calls it when done
	timer    *time.Timer
	deadline time.Time   // the whole handshake's
	gotByte  atomic.Bool // the peer's first byte has arrived; the timer reads it
	slot     handshakeSlot

	// plaintext: decrypted, unconsumed bytes, a view of inBuf.
	in    []byte
	inBuf *[]byte
	// batch collects records crypto/tls writes during one call, so they
	// reach the raw conn in one Write.
	batch *[]byte

	// rec follows the records handed to crypto/tls: the handshake
	// goroutine's while it runs, then the loop's.
	rec recordFramer

	ctx        any
	wakeAsked  atomic.Bool // the next handler called Wake; any goroutine
	backlog    bool        // decrypting paused for the watermark; OnDrained resumes
	peerClosed bool        // close_notify received
	eofTold    bool        // the next handler's OnEOF ran
	eof        bool        // the raw conn has closed: reads end with io.EOF
	closeSent  bool        // close_notify sent
	cause      error       // the OnClose cause the layer decided on
	rawErr     error       // the raw conn's OnClose cause, once it closed
}

func newTLSConn(l *TLSLayer, raw conn.Conn) *tlsConn {
	c := &tlsConn{layer: l, raw: raw}
	c.tr.c = c
	return c
}

// state is where the conn is; any goroutine.
func (c *tlsConn) state() tlsState { return tlsState(c.st.Load()) }

// moveTo moves the conn to state to, on the loop. A move tlsMoves does not
// list is a bug in the layer: it panics, which the loop turns into a closed
// conn and a log line, rather than go on with a conn in a state nobody
// planned for.
func (c *tlsConn) moveTo(to tlsState) {
	if from := c.state(); !canMove(from, to) {
		panic(fmt.Sprintf("reactor: TLS conn cannot move from %v to %v", from, to))
	}
	c.st.Store(uint32(to))
}

// loopOwned says whether the loop owns the tls.Conn: the handshake
// completed and its goroutine is done. The goroutine sets hsDone as its last
// use of the transport, and the loop moves to tlsOpen only after it has
// seen hsDone, so while the goroutine runs this is false.
func (c *tlsConn) loopOwned() bool {
	s := c.state()
	return s == tlsOpen || s == tlsClosed
}
