// Package framed runs a handler of whole frames on an engine: its Adapter
// is a reactor.Handler that splits each conn's inbound bytes into frames
// with a codec.Decoder and hands them, one at a time, to a Handler's
// OnFrame.
//
// It is the one codec package that imports reactor; the decoders in package
// codec (and codec/resp) depend on package conn alone, so a program that
// only decodes does not link the engine.
//
// Start with New(h, decoder), and serve what it returns with reactor.Run or
// reactor.Start; ExampleNew is a runnable line echo server.
package framed

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// Handler handles whole frames. Run it on an engine with New.
//
// A Handler may also implement any of reactor.Handler's other
// callbacks (OnBoot, OnOpen, OnClose, OnTick, OnShutdown), most simply by
// embedding reactor.BaseHandler and overriding some; the Adapter forwards
// them. Its OnTraffic, if it has one, is never called: the Adapter owns the
// inbound bytes.
type Handler interface {
	// OnFrame handles one frame (loop only). frame aliases the conn's
	// inbound buffer and is valid only until OnFrame returns: copy it to
	// keep it. OnFrame must not consume from c's inbound buffer (Read,
	// Next, Discard). Returning anything but reactor.None stops the
	// delivery of further frames buffered in c for now.
	OnFrame(c conn.Conn, frame []byte) reactor.Action
}

// The optional callbacks a Handler may have.
type (
	booter interface {
		OnBoot(reactor.Engine) reactor.Action
	}
	opener interface {
		OnOpen(conn.Conn) reactor.Action
	}
	closer interface{ OnClose(conn.Conn, error) }
	ticker interface {
		OnTick() (time.Duration, reactor.Action)
	}
	shutdowner interface{ OnShutdown(reactor.Engine) }
)

// Adapter is a reactor.Handler that decodes each conn's inbound bytes into
// frames and hands them to a Handler. It is safe for use by every loop
// of an engine at once.
//
// A conn whose input fails to decode is closed, and the Handler's OnClose
// receives the decode error (wrapping codec.ErrFrameTooLarge or
// codec.ErrMalformed). The Adapter identifies conns by the conn.Conn value the
// engine passes, so it relies on an engine passing the same value to every
// callback of one conn.
type Adapter struct {
	h   Handler
	dec codec.Decoder

	boot     booter
	open     opener
	close    closer
	tick     ticker
	shutdown shutdowner

	// failed maps a conn.Conn that failed to decode to its error, from the
	// OnTraffic that failed to its OnClose. conn.Conn has no CloseWithError,
	// so this is how the cause reaches OnClose; it is a sync.Map because
	// every loop reads and writes it. nfailed keeps the common case (no
	// failed conns) off the map entirely.
	failed  sync.Map
	nfailed atomic.Int64
}

var _ reactor.Handler = (*Adapter)(nil)

// New returns a reactor.Handler that decodes frames with d and passes each
// to h.OnFrame, forwarding h's other callbacks if it has them. d is often a
// codec.Codec whose Encode h uses to answer (see codec.WriteFrame).
func New(h Handler, d codec.Decoder) *Adapter {
	a := &Adapter{h: h, dec: d}
	a.boot, _ = h.(booter)
	a.open, _ = h.(opener)
	a.close, _ = h.(closer)
	a.tick, _ = h.(ticker)
	a.shutdown, _ = h.(shutdowner)
	return a
}

// OnBoot forwards to the Handler's OnBoot, if any.
func (a *Adapter) OnBoot(e reactor.Engine) reactor.Action {
	if a.boot != nil {
		return a.boot.OnBoot(e)
	}
	return reactor.None
}

// OnOpen forwards to the Handler's OnOpen, if any.
func (a *Adapter) OnOpen(c conn.Conn) reactor.Action {
	if a.open != nil {
		return a.open.OnOpen(c)
	}
	return reactor.None
}

// OnTraffic calls OnFrame for every complete frame buffered in c, leaving
// an incomplete one buffered until more bytes arrive. On a decode error it
// drops c's inbound bytes (memory stays bounded) and closes c.
func (a *Adapter) OnTraffic(c conn.Conn) reactor.Action {
	if a.nfailed.Load() > 0 {
		if _, failed := a.failed.Load(c); failed {
			// Bytes that arrived while c waits to close: a decode
			// error is final, so nothing after it is a frame.
			c.Discard(-1)
			return reactor.Close
		}
	}
	for {
		frame, ok, err := codec.Decode(c, a.dec)
		if err != nil {
			c.Discard(-1)
			if _, loaded := a.failed.LoadOrStore(c, err); !loaded {
				a.nfailed.Add(1)
			}
			return reactor.Close
		}
		if !ok {
			return reactor.None
		}
		if act := a.h.OnFrame(c, frame); act != reactor.None {
			return act
		}
	}
}

// OnClose forwards to the Handler's OnClose, if any, with the decode
// error that closed c in place of a nil err. If the engine reports an error
// of its own as well, both are wrapped, decode error first.
func (a *Adapter) OnClose(c conn.Conn, err error) {
	if a.nfailed.Load() > 0 {
		if v, failed := a.failed.LoadAndDelete(c); failed {
			a.nfailed.Add(-1)
			decodeErr := v.(error)
			if err == nil {
				err = decodeErr
			} else {
				err = fmt.Errorf("%w (then: %w)", decodeErr, err)
			}
		}
	}
	if a.close != nil {
		a.close.OnClose(c, err)
	}
}

// OnTick forwards to the Handler's OnTick; without one it asks for the
// next tick in a second, as reactor.BaseHandler does.
func (a *Adapter) OnTick() (time.Duration, reactor.Action) {
	if a.tick != nil {
		return a.tick.OnTick()
	}
	return time.Second, reactor.None
}

// OnShutdown forwards to the Handler's OnShutdown, if any.
func (a *Adapter) OnShutdown(e reactor.Engine) {
	if a.shutdown != nil {
		a.shutdown.OnShutdown(e)
	}
}
