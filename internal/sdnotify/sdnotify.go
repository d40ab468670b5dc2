// Package sdnotify tells systemd (Type=notify services) what state an engine
// is in, for every backend alike. Without NOTIFY_SOCKET in the environment
// it does nothing.
package sdnotify

import (
	"log/slog"
	"os"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Ready says the engine serves (READY=1).
func Ready(log *slog.Logger) { notify(log, daemon.SdNotifyReady) }

// Stopping says the engine has begun to stop (STOPPING=1).
func Stopping(log *slog.Logger) { notify(log, daemon.SdNotifyStopping) }

// notify sends state; a failure is logged, never fatal: the service runs
// on whether or not systemd hears.
func notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("systemd notify failed", "state", state, "err", err, "socket", os.Getenv("NOTIFY_SOCKET"))
	}
}
