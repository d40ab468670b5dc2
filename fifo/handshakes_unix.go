//go:build unix

package fifo

import (
	"log/slog"
	"time"
)

// Handshake retries: a client that has not opened its end yet is tried
// again after a pause that doubles from RetryMin up to RetryMax, until the
// handshake timeout. In the normal order of the protocol the first try
// succeeds.
const (
	RetryMin = time.Millisecond
	RetryMax = 100 * time.Millisecond
)

// DefaultMaxHandshakes is Handshakes.Max when it is 0. Each handshake in
// progress holds an fd (the client's c2s read end) for up to the handshake
// timeout, so anyone who can write the well-known FIFO could otherwise use
// up the process's fds with requests never completed. An honest client
// completes its handshake in about a millisecond; while the bound is
// reached, new requests are skipped (and logged), as a full listen backlog
// turns connects away.
const DefaultMaxHandshakes = 256

// Handshakes serves a Listener from an event loop without blocking it: it
// reads the requests when the well-known FIFO is readable, begins a
// handshake for each, and steps each on the loop's timers until it
// completes (Done) or fails. A bad request or a failed handshake is
// logged and skipped, costing the loop nothing more. Its methods and
// callbacks run on the loop only.
type Handshakes struct {
	L     *Listener
	Max   int                             // handshakes in progress at most; 0: DefaultMaxHandshakes
	After func(d time.Duration, f func()) // runs f on the loop after d
	Done  func(*Handshake)                // a completed pair: its fds are the callee's
	Log   *slog.Logger

	pending map[*Handshake]struct{}
	closed  bool
}

// Readable reads the requests that arrived and begins their handshakes.
func (hs *Handshakes) Readable() {
	if hs.closed {
		return
	}
	if err := hs.L.ReadRequests(hs.request); err != nil {
		hs.Log.Error("fifo: reading requests failed", "addr", hs.L.Addr(), "err", err)
	}
}

func (hs *Handshakes) request(req Request, err error) {
	if err != nil {
		hs.Log.Warn("fifo: request skipped", "addr", hs.L.Addr(), "err", err)
		return
	}
	max := hs.Max
	if max <= 0 {
		max = DefaultMaxHandshakes
	}
	if len(hs.pending) >= max {
		hs.Log.Warn("fifo: request skipped: too many handshakes in progress", "addr", hs.L.Addr(), "pid", req.PID, "max", max)
		return
	}
	h, err := hs.L.Begin(req)
	if err != nil {
		hs.Log.Warn("fifo: request skipped", "addr", hs.L.Addr(), "pid", req.PID, "err", err)
		return
	}
	if hs.pending == nil {
		hs.pending = map[*Handshake]struct{}{}
	}
	hs.pending[h] = struct{}{}
	hs.step(h, RetryMin)
}

// step advances a handshake, and on a timer again while the client has not
// opened its end.
func (hs *Handshakes) step(h *Handshake, pause time.Duration) {
	if hs.closed {
		return
	}
	done, err := h.Step()
	switch {
	case err != nil:
		delete(hs.pending, h)
		h.Close()
		hs.Log.Warn("fifo: handshake abandoned", "addr", hs.L.Addr(), "pid", h.Request().PID, "err", err)
	case done:
		delete(hs.pending, h)
		hs.Done(h)
	default:
		hs.After(pause, func() { hs.step(h, min(2*pause, RetryMax)) })
	}
}

// Close abandons the handshakes in progress and closes the Listener (the
// FIFO and its lock file are removed).
func (hs *Handshakes) Close() error {
	if hs.closed {
		return nil
	}
	hs.closed = true
	for h := range hs.pending {
		h.Close()
	}
	hs.pending = nil
	return hs.L.Close()
}
