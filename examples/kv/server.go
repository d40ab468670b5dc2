package main

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/codec/resp"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// Sweep pacing: every tick examines at most sweepBudget keys with a
// deadline and deletes the expired ones, so a tick's pause is bounded
// whatever the keyspace size. Keys nobody touches again are gone within
// (keys with a deadline / sweepBudget) ticks.
const (
	tickEvery   = 100 * time.Millisecond
	sweepBudget = 2000
)

// flushAt is the reply size at which serve writes mid-batch rather than
// growing its buffer further.
const flushAt = 64 << 10

// server is the reactor.Handler: it parses each batch of requests a conn
// delivers, runs them against the store and answers the batch with one
// write. Its per-conn state is in the conn's buffers, but for a
// resp.Progress, in the conn's context from the first request that
// arrives in more than one read: how far that request was parsed, so that
// a huge one (an MGET of a million keys) is not parsed again from its
// start on every read while the loop's other conns wait.
type server struct {
	reactor.BaseHandler
	dec       *resp.Decoder
	store     *store
	writeHigh int // the engine's high watermark: above it, stop and wait for OnDrained
	maxReply  int // the largest reply one command may build (-maxreply)
	engine    atomic.Pointer[reactor.Engine]
}

// kv's request and reply limits, lower than codec/resp's own defaults
// (and far lower than redis-server's 512 MiB bulk strings): what one
// request may make the server hold is bounded by them, and kv is for
// values of up to a few MiB.
const (
	defaultMaxBulk  = 4 << 20  // -maxbulk: the largest value or argument
	defaultMaxArgs  = 64 << 10 // -maxargs: MSET of 32Ki pairs, MGET of 64Ki keys
	defaultMaxReply = 16 << 20 // -maxreply: 4 of the largest values in one reply
)

// newServer serves with limits; a zero field of limits, and a zero
// maxReply, take kv's defaults. maxReply must leave room for the largest
// value (a GET of it is one reply).
func newServer(limits resp.Config, maxReply, writeHigh int) (*server, error) {
	if limits.MaxBulk == 0 {
		limits.MaxBulk = defaultMaxBulk
	}
	if limits.MaxArgs == 0 {
		limits.MaxArgs = defaultMaxArgs
	}
	if maxReply == 0 {
		maxReply = defaultMaxReply
	}
	dec, err := resp.NewDecoder(limits)
	if err != nil {
		return nil, err
	}
	if need := bulkLen(dec.Config().MaxBulk); maxReply < need {
		return nil, fmt.Errorf("-maxreply %d: below %d, the reply to a GET of the largest value (-maxbulk %d)", maxReply, need, dec.Config().MaxBulk)
	}
	return &server{dec: dec, store: newStore(), writeHigh: writeHigh, maxReply: maxReply}, nil
}

// maxOutbound is the engine's outbound bound (reactor.WithMaxOutbound) kv
// needs so that no client that reads is ever cut off: serve writes once
// its reply buffer reaches flushAt, and stops once output passes the high
// watermark, so what a conn buffers is at most the high watermark plus
// flushAt plus one reply; over TLS, plus the records' overhead, under
// 1/512 of the plaintext. A client past that is not reading; it is closed.
func (s *server) maxOutbound() int {
	plain := s.writeHigh + flushAt + s.maxReply
	return plain + plain/256
}

// scratch is the memory one OnTraffic call works in. It is pooled rather
// than per conn, so idle conns hold none of it, and rather than per loop,
// which a handler cannot name; sync.Pool's per-P caches make it nearly as
// cheap.
type scratch struct {
	args [][]byte
	out  []byte
}

var scratches = sync.Pool{New: func() any {
	return &scratch{args: make([][]byte, 0, 16), out: make([]byte, 0, 16<<10)}
}}

// Pooled scratch past these sizes (after a huge MGET or MSET) is dropped
// rather than kept.
const (
	maxPooledOut  = 1 << 20
	maxPooledArgs = 1024
)

// OnBoot keeps the engine for INFO.
func (s *server) OnBoot(e reactor.Engine) reactor.Action {
	s.engine.Store(&e)
	return reactor.None
}

// OnTraffic serves the requests buffered in c.
func (s *server) OnTraffic(c conn.Conn) reactor.Action { return s.serve(c) }

// OnDrained resumes serving a conn serve left requests in because its
// output had passed the high watermark.
func (s *server) OnDrained(c conn.Conn) reactor.Action { return s.serve(c) }

// OnTick sweeps expired keys.
func (s *server) OnTick() (time.Duration, reactor.Action) {
	s.store.sweep(sweepBudget)
	return tickEvery, reactor.None
}

// serve runs every complete request buffered in c, appending the replies to
// one buffer written once at the end (or every flushAt bytes): a pipelined
// batch costs one write. Arguments alias c's inbound buffer, so the bytes
// are consumed only after the last request that uses them has run.
func (s *server) serve(c conn.Conn) reactor.Action {
	buf, _ := c.Peek(-1)
	if len(buf) == 0 {
		return reactor.None
	}
	// The request at buf[0] may be one an earlier call left incomplete;
	// every later one in buf is new.
	progress, kept := c.Context().(*resp.Progress)
	if !kept {
		progress = new(resp.Progress) // on the stack, unless kept below
	}
	sc := scratches.Get().(*scratch)
	out := sc.out[:0]
	action := reactor.None
	done := 0
	for done < len(buf) {
		args, n, err := s.dec.DecodeCommandFrom(buf[done:], sc.args, progress)
		sc.args = args
		if err != nil {
			out = appendProtocolError(out, err)
			action = reactor.Close
			break
		}
		if n == 0 {
			if !kept && progress.Pending() {
				// Kept for the conn's life: a conn whose requests
				// straddle reads is likely to do it again.
				p := *progress
				c.SetContext(&p)
			}
			break
		}
		done += n
		if len(args) == 0 {
			continue
		}
		var quit bool
		out, quit = s.exec(out, args)
		if quit {
			action = reactor.Close
			break
		}
		if len(out) >= flushAt {
			c.Write(out)
			out = out[:0]
			if c.OutboundBuffered() > s.writeHigh {
				// The loop has paused reading c; the rest waits for
				// OnDrained, so a client that does not read its replies
				// cannot make the server buffer them without bound.
				break
			}
		}
	}
	if action == reactor.Close {
		// Closing: nothing after QUIT or bad input is served.
		done = len(buf)
	}
	if len(out) > 0 {
		c.Write(out)
	}
	c.Discard(done)
	if cap(out) <= maxPooledOut && cap(sc.args) <= maxPooledArgs {
		sc.out = out[:0]
		clear(sc.args[:cap(sc.args)]) // drop references into c's buffer
		scratches.Put(sc)
	}
	return action
}

// appendProtocolError answers bad input as redis-server does, before it
// closes the conn.
func appendProtocolError(out []byte, err error) []byte {
	var perr *resp.ProtocolError
	if errors.As(err, &perr) {
		return resp.AppendError(out, "ERR Protocol error: "+perr.Reason)
	}
	return resp.AppendError(out, "ERR Protocol error: "+err.Error())
}
