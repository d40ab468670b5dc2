//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

// Engine.Stats: counters per gnet loop.

import (
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"

	"github.com/evloop/evloop/reactor"
)

// loopStats are one gnet loop's counters.
type loopStats struct {
	open, accepted, closed, rejected, bytesIn, bytesOut, panics atomic.Int64
}

// Stats implements reactor.Engine.
func (e *engine) Stats() reactor.Stats {
	e.loopsMu.Lock()
	loops := append([]*loopStats(nil), e.loopOrder...)
	e.loopsMu.Unlock()
	var s reactor.Stats
	for _, l := range loops {
		s.Loop = append(s.Loop, l.snapshot())
	}
	if n := e.misc.panics.Load(); n > 0 {
		if len(s.Loop) == 0 {
			s.Loop = append(s.Loop, reactor.LoopStats{})
		}
		s.Loop[0].Panics += n
	}
	for _, l := range s.Loop {
		s.Add(l)
	}
	return s
}

func (l *loopStats) snapshot() reactor.LoopStats {
	return reactor.LoopStats{
		Open:     l.open.Load(),
		Accepted: l.accepted.Load(),
		Closed:   l.closed.Load(),
		Rejected: l.rejected.Load(),
		BytesIn:  l.bytesIn.Load(),
		BytesOut: l.bytesOut.Load(),
		Panics:   l.panics.Load(),
	}
}

// loopStatsOf returns the counters of gnet loop el. It runs once per conn
// (and once per UDP datagram), so the common case takes no lock.
func (e *engine) loopStatsOf(el gnet.EventLoop) *loopStats {
	if l, ok := e.loops.Load(el); ok {
		return l.(*loopStats)
	}
	e.loopsMu.Lock()
	defer e.loopsMu.Unlock()
	if l, ok := e.loops.Load(el); ok {
		return l.(*loopStats)
	}
	l := &loopStats{}
	e.loops.Store(el, l)
	e.loopOrder = append(e.loopOrder, l)
	return l
}
