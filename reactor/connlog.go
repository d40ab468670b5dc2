package reactor

import (
	"context"
	"log/slog"

	"github.com/evloop/evloop/conn"
)

// connLog is the innermost layer when the engine's logger is enabled for
// debug: it logs each conn the handler sees open and close, with the
// remote address the handler sees (after a PROXY header) and the close's
// cause. It calls the handler with the very conn it got, so the conn's
// identity (Context, comparisons, maps keyed by it) is the handler's own;
// its other callbacks (OnStop, OnDrained among them) are Forward's.
// Without debug logging it is not attached at all.
type connLog struct {
	Forward
	log *slog.Logger
}

// withConnLog wraps h in a connLog if log is enabled for debug.
func withConnLog(h Handler, log *slog.Logger) Handler {
	if log == nil || !log.Enabled(context.Background(), slog.LevelDebug) {
		return h
	}
	return &connLog{Forward: Forward{Next: h}, log: log}
}

// OnOpen implements Handler.
func (l *connLog) OnOpen(c conn.Conn) Action {
	l.log.Debug("conn opened", "remote", c.RemoteAddr(), "local", c.LocalAddr())
	return l.Next.OnOpen(c)
}

// OnClose implements Handler.
func (l *connLog) OnClose(c conn.Conn, err error) {
	l.Next.OnClose(c, err)
	cause := "clean"
	if err != nil {
		cause = err.Error()
	}
	l.log.Debug("conn closed", "remote", c.RemoteAddr(), "cause", cause)
}
