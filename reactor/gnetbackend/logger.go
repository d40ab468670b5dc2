//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
)

// gnetLogger adapts slog to gnet's logging.Logger. gnet logs routine events
// ("Launching gnet with N event-loops") at Info; they go to Debug so that an
// application's Info log carries its own events only. Fatalf is logged as an
// error: gnet's Fatalf does not stop anything, and neither does this.
//
// Once quiet is set (the engine is shutting its listeners down to stop gnet),
// warnings and errors go to Debug too: the failing accept is the stop.
type gnetLogger struct {
	l     *slog.Logger
	quiet *atomic.Bool
}

func newGnetLogger(l *slog.Logger) gnetLogger { return gnetLogger{l: l, quiet: new(atomic.Bool)} }

func (g gnetLogger) logf(level slog.Level, format string, args []any) {
	if level > slog.LevelDebug && g.quiet.Load() {
		level = slog.LevelDebug
	}
	if !g.l.Enabled(context.Background(), level) {
		return
	}
	g.l.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// Debugf implements logging.Logger.
func (g gnetLogger) Debugf(format string, args ...any) { g.logf(slog.LevelDebug, format, args) }

// Infof implements logging.Logger.
func (g gnetLogger) Infof(format string, args ...any) { g.logf(slog.LevelDebug, format, args) }

// Warnf implements logging.Logger.
func (g gnetLogger) Warnf(format string, args ...any) { g.logf(slog.LevelWarn, format, args) }

// Errorf implements logging.Logger.
func (g gnetLogger) Errorf(format string, args ...any) { g.logf(slog.LevelError, format, args) }

// Fatalf implements logging.Logger.
func (g gnetLogger) Fatalf(format string, args ...any) { g.logf(slog.LevelError, format, args) }
