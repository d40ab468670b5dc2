package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// Limits and defaults of a room.
const (
	// MaxNick is the longest nick, in bytes.
	MaxNick = 32
	// DefaultMaxLine is the longest line a client may send, in bytes
	// without its line end; a longer one closes the conn.
	DefaultMaxLine = 4 << 10
	// DefaultMaxBacklog is how many outbound bytes a member may fall behind
	// before it is disconnected.
	DefaultMaxBacklog = 256 << 10
	// DefaultCloseGrace bounds how long a conn the room has closed may take
	// to flush its last output; a peer that reads nothing for that long is
	// cut off, so a stuck client cannot pin its buffer.
	DefaultCloseGrace = 5 * time.Second
)

// config is a room's configuration; zero fields take the defaults.
type config struct {
	// MaxLine is the longest line a client may send.
	MaxLine int
	// MaxBacklog is how many bytes a member's conn may hold that its
	// client has not taken (Conn.OutboundBuffered) before the member is
	// disconnected. It is also the largest burst of lines every member
	// must be able to absorb.
	MaxBacklog int
	// MaxQueued bounds a member's outbox: lines other members sent that
	// its loop has not delivered yet. A loop delivers at its next turn, so
	// this only fills while that loop is busy, typically with a sender on
	// the same loop whose one OnTraffic broadcasts many lines; past it the
	// member is disconnected too, so memory stays bounded. The default is
	// four times MaxBacklog.
	MaxQueued int
	// CloseGrace is how long a conn the room closed may take to flush.
	CloseGrace time.Duration
	// Logger reports disconnections (default slog.Default()).
	Logger *slog.Logger
}

// room is a chat room: a registry of members by nick, and the fan-out of
// every member's lines to the others.
//
// Members' conns live on different loops, and a loop may touch only its own
// conns. So a line is never written to another member's conn: it is built
// once, as one []byte that every recipient shares and nobody modifies, and
// queued on each recipient's outbox; the first line queued on an empty outbox
// wakes the recipient's conn, and its own loop then writes everything queued
// in one Writev (see deliver). The same path carries notices, so each
// recipient sees every member's lines and notices in the order that member
// produced them.
//
// A member that does not read falls behind: its conn's outbound buffer grows.
// Its loop checks, after every write, that the buffer stays within
// MaxBacklog; past it the member is disconnected (kick) and nothing more is
// queued for it. No other member waits for it, and memory stays bounded: per
// member, MaxQueued in the outbox plus MaxBacklog and one delivery in the
// conn.
type room struct {
	cfg config
	log *slog.Logger

	mu      sync.RWMutex
	members map[string]*member // by folded nick (see nickKey): joined members only
	closed  bool               // shutting down: no more notices
}

// member is one conn in the room, from its open to its close. It is the
// conn's context value.
type member struct {
	c  conn.Conn       // an nc member's conn
	ws *websocket.Conn // or a browser member's (web.go)

	// Owned by the member's loop. nick is written there under room.mu too,
	// because other loops read it (/who) under room.mu.
	nick    string // "" until the member has chosen one
	closing bool   // the room closed the conn (or the codec did); no more lines
	left    bool   // out of the room; notices about it are sent

	// The outbox: lines other loops queued for this member.
	outMu    sync.Mutex
	pending  [][]byte
	spare    [][]byte // the previous pending slice, reused
	queued   int      // bytes in pending
	woken    bool     // a Wake is on its way; no need for another
	overflow int      // > 0: this many bytes were queued, past MaxQueued; kick on delivery
	gone     bool     // left the room: queue nothing more
}

// newRoom returns an empty room.
func newRoom(cfg config) *room {
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = DefaultMaxLine
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = DefaultMaxBacklog
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = 4 * cfg.MaxBacklog
	}
	if cfg.CloseGrace <= 0 {
		cfg.CloseGrace = DefaultCloseGrace
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &room{cfg: cfg, log: log, members: map[string]*member{}}
}

// ---- registry (any loop) ----

// join adds m under nick; it fails if another member has that nick.
func (r *room) join(m *member, nick string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errShuttingDown
	}
	key := nickKey(nick)
	if _, taken := r.members[key]; taken {
		return fmt.Errorf("nick %q is taken", nick)
	}
	r.members[key] = m
	m.nick = nick
	return nil
}

// rename changes m's nick; a change of case only is allowed.
func (r *room) rename(m *member, nick string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	oldKey, newKey := nickKey(m.nick), nickKey(nick)
	if other, taken := r.members[newKey]; taken && other != m {
		return fmt.Errorf("nick %q is taken", nick)
	}
	delete(r.members, oldKey)
	r.members[newKey] = m
	m.nick = nick
	return nil
}

// remove takes m out of the room and empties its outbox for good. It
// reports whether others should hear that m left.
func (r *room) remove(m *member) (announce bool) {
	m.outMu.Lock()
	m.gone = true
	clear(m.pending)
	m.pending, m.spare, m.queued = nil, nil, 0
	m.outMu.Unlock()
	if m.left || m.nick == "" {
		m.left = true
		return false
	}
	m.left = true
	r.mu.Lock()
	defer r.mu.Unlock()
	if key := nickKey(m.nick); r.members[key] == m {
		delete(r.members, key)
	}
	return !r.closed
}

// count is the number of members.
func (r *room) count() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.members)
}

// nicks lists the members' nicks, sorted.
func (r *room) nicks() []string {
	r.mu.RLock()
	names := make([]string, 0, len(r.members))
	for _, m := range r.members {
		names = append(names, m.nick)
	}
	r.mu.RUnlock()
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(nickKey(a), nickKey(b)) })
	return names
}

// broadcast queues line for every member but from (nil: everyone). line is
// shared by all recipients and must not be modified afterwards.
//
// Browser members get line as one WebSocket message, framed once for all
// of them.
func (r *room) broadcast(from *member, line []byte) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var pm *websocket.PreparedMessage
	for _, m := range r.members {
		switch {
		case m == from:
		case m.ws != nil:
			if pm == nil {
				pm, _ = websocket.NewPreparedMessage(websocket.OpText, bytes.TrimSuffix(line, []byte("\n")))
			}
			m.ws.AsyncWritePrepared(pm) // ErrSlowReceiver: the conn is cut off, OnClose removes it
		default:
			m.enqueue(line, r.cfg.MaxQueued)
		}
	}
}

// shutdown is the engine's stop (or an upgrade's drain) reaching m, on
// m's loop: the room takes no more joins and sends no more notices, and m
// gets what was queued for it, then the goodbye, and its conn closes. The
// room is not carried over to an upgraded process: the client reconnects.
func (r *room) shutdown(m *member) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	if m.closing {
		return
	}
	if r.deliver(m) != reactor.None {
		m.c.Close() // kicked: its last notice is out
		return
	}
	m.c.Write([]byte("* server shutting down\n"))
	r.closeConn(m)
	m.c.Close()
}

// enqueue adds line to m's outbox and wakes m's conn if this is the first
// line since its loop last delivered (any goroutine).
func (m *member) enqueue(line []byte, limit int) {
	m.outMu.Lock()
	if m.gone || m.overflow > 0 {
		m.outMu.Unlock()
		return
	}
	if m.queued+len(line) > limit {
		// The member is leaving; the lines queued so far are all it gets.
		m.overflow = m.queued + len(line)
	} else {
		m.pending = append(m.pending, line)
		m.queued += len(line)
	}
	wake := !m.woken
	m.woken = true
	m.outMu.Unlock()
	if wake {
		// An error means the conn is closed; OnClose removes the member.
		m.c.Wake()
	}
}

// ---- delivery (the member's own loop) ----

// deliver writes what other loops queued for m, then checks m's backlog.
func (r *room) deliver(m *member) reactor.Action {
	m.outMu.Lock()
	lines, queued, overflow := m.pending, m.queued, m.overflow
	m.pending, m.spare = m.spare, nil
	m.queued, m.woken = 0, false
	m.outMu.Unlock()
	if len(lines) == 0 && overflow == 0 {
		return reactor.None
	}
	if len(lines) > 0 {
		m.c.Writev(lines)
		clear(lines) // the lines belong to every recipient; drop our references
		m.outMu.Lock()
		if m.spare == nil && !m.gone && cap(lines) <= 1024 {
			m.spare = lines[:0]
		}
		m.outMu.Unlock()
	}
	if overflow > 0 {
		return r.kick(m, m.c.OutboundBuffered()+overflow-queued)
	}
	return r.checkBacklog(m)
}

// reply writes line to m after whatever was queued for it, keeping m's view
// of the room in order.
func (r *room) reply(m *member, line string) reactor.Action {
	if m.ws != nil {
		m.sendWS([]byte(line)) // behind what was queued, in the conn's queue
		return reactor.None
	}
	if a := r.deliver(m); a != reactor.None {
		return a
	}
	m.c.Write([]byte(line))
	return r.checkBacklog(m)
}

// checkBacklog disconnects m if its conn holds more than MaxBacklog bytes
// the kernel has not taken.
func (r *room) checkBacklog(m *member) reactor.Action {
	if n := m.c.OutboundBuffered(); n > r.cfg.MaxBacklog {
		return r.kick(m, n)
	}
	return reactor.None
}

// kick disconnects a member that fell backlog bytes behind. Its last notice
// goes after what it has not read; if it reads nothing more within
// CloseGrace its conn is closed without waiting for the flush.
func (r *room) kick(m *member, backlog int) reactor.Action {
	if m.closing {
		return reactor.Close
	}
	r.log.Info("chat: disconnecting a slow client", "nick", m.nick, "remote", m.c.RemoteAddr(), "backlog", backlog)
	r.leave(m, " (too slow)")
	m.c.Write(fmt.Appendf(nil, "* disconnected: you fell %d bytes behind (limit %d)\n", backlog, r.cfg.MaxBacklog))
	return r.closeConn(m)
}

// leave takes m out of the room and tells the others, with an optional
// reason such as " (too slow)".
func (r *room) leave(m *member, reason string) {
	nick := m.nick
	if r.remove(m) {
		r.broadcast(m, []byte("* "+nick+" left"+reason+"\n"))
	}
}

// closeConn closes m's conn once its output is flushed, or after CloseGrace
// without progress.
func (r *room) closeConn(m *member) reactor.Action {
	m.closing = true
	if m.ws != nil {
		m.ws.AsyncClose(websocket.CloseNormal, "bye") // behind the replies queued
		return reactor.None
	}
	m.c.SetIdleTimeout(r.cfg.CloseGrace)
	return reactor.Close
}
