package reactor

import (
	"context"
	"log/slog"
	"time"

	"github.com/evloop/evloop/conn"
)

// connLog is the innermost layer when the engine's logger is enabled for
// debug: it logs each conn the handler sees open and close, with the
// remote address the handler sees (after a PROXY header) and the close's
// cause. It calls the handler with the very conn it got, so the conn's
// identity (Context, comparisons, maps keyed by it) is the handler's own.
// Without debug logging it is not attached at all.
type connLog struct {
	next    Handler
	drainer DrainHandler
	log     *slog.Logger
}

// withConnLog wraps h in a connLog if log is enabled for debug.
func withConnLog(h Handler, log *slog.Logger) Handler {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return h
	}
	l := &connLog{next: h, log: log}
	l.drainer, _ = h.(DrainHandler)
	return l
}

// OnBoot implements Handler.
func (l *connLog) OnBoot(e Engine) Action { return l.next.OnBoot(e) }

// OnOpen implements Handler.
func (l *connLog) OnOpen(c conn.Conn) Action {
	l.log.Debug("conn opened", "remote", c.RemoteAddr(), "local", c.LocalAddr())
	return l.next.OnOpen(c)
}

// OnTraffic implements Handler.
func (l *connLog) OnTraffic(c conn.Conn) Action { return l.next.OnTraffic(c) }

// OnClose implements Handler.
func (l *connLog) OnClose(c conn.Conn, err error) {
	l.next.OnClose(c, err)
	cause := "clean"
	if err != nil {
		cause = err.Error()
	}
	l.log.Debug("conn closed", "remote", c.RemoteAddr(), "cause", cause)
}

// OnTick implements Handler.
func (l *connLog) OnTick() (time.Duration, Action) { return l.next.OnTick() }

// OnShutdown implements Handler.
func (l *connLog) OnShutdown(e Engine) { l.next.OnShutdown(e) }

// OnDrained implements DrainHandler.
func (l *connLog) OnDrained(c conn.Conn) Action {
	if l.drainer == nil {
		return None
	}
	return l.drainer.OnDrained(c)
}
