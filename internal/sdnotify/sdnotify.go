// Package sdnotify tells systemd (Type=notify services) what state an engine
// is in, for every backend alike. Without NOTIFY_SOCKET in the environment
// it does nothing.
package sdnotify

import (
	"log/slog"
	"os"
	"strconv"

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

// MainPID says that this process is now the service's main process
// (MAINPID=): the successor an upgrade starts says so once it serves, or
// systemd would take the old process's exit for the end of the service.
// systemd heeds it from a process other than the main one only with
// NotifyAccess=all. It reports a failure to send; no NOTIFY_SOCKET is none.
func MainPID() error {
	_, err := daemon.SdNotify(false, "MAINPID="+strconv.Itoa(os.Getpid()))
	return err
}

// HandOver makes this process silent to systemd from now on: an old
// process whose successor serves must not send STOPPING=1 as it drains,
// which systemd would take for the service stopping (and then stop the
// successor too).
func HandOver() { os.Unsetenv("NOTIFY_SOCKET") }
