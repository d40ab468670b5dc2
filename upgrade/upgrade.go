//go:build unix

// Package upgrade replaces a running server's binary with no dropped
// connection, in the manner of nginx's and HAProxy's reloads: the new
// process inherits the listening sockets, says when it serves, and only
// then does the old one stop accepting and drain its conns.
//
// It is a thin layer over github.com/cloudflare/tableflip, which passes the
// sockets to the new process and carries its readiness back. Both processes
// share each listening socket (the kernel's accept queue included) while the
// new one starts, so no connect is refused and no queued conn is reset.
//
//	up, err := upgrade.New(upgrade.Options{})
//	defer up.Stop()
//	addrs, err := up.Listen([]string{"tcp://127.0.0.1:7000"})
//	eng, err := reactor.Start(h, addrs)
//	up.Ready()
//	// on SIGHUP: up.Upgrade()
//	<-up.Exit()     // the new process serves
//	eng.Drain(ctx)  // stop accepting; serve the conns on until they end or ctx does
//	eng.Stop(ctx2)  // close what is left, gracefully
//
// The drain is what keeps an upgrade from cutting requests in flight on
// persistent conns: Stop right after Exit closes each conn once its output
// is flushed, so a request its client has sent but the old process has not
// read yet gets no reply. Engine.Drain instead stops accepting at once (the
// successor accepts on the same sockets), tells each conn's handler
// (StopHandler: a protocol says goodbye at a point where no request can be
// lost, as HTTP's "Connection: close" or WebSocket's 1001 do) and serves the
// conns on until their clients close them, as nginx's old workers and
// Envoy's hot restart do. Bound it (DefaultDrainTimeout): conns still open
// past it are closed by Stop, and an upgrade is refused until the old
// process has exited.
//
// Listen keeps each address as written and adds the query fd=N, the
// inherited socket's number: reactor serves such an address from that
// socket instead of binding it, so a tls:// or ?proxy= address keeps its
// meaning across upgrades. Only the native backend serves inherited
// sockets (gnet binds its own: Start refuses fd= with reactor.ErrUnsupported).
//
// A socket is found again in the new process by its network and address as
// written (tcp and 127.0.0.1:0 stays the port first bound), so the new
// process must be started with the same addresses: Upgrade runs the same
// binary path with the same arguments. tableflip allows one Upgrader per
// process; an upgrade is refused until the previous old process has exited.
//
// A unix path that no parent passed on is bound by the reactor's rule: a
// stale socket file (its connect refused: the server crashed) is removed
// first, a live server's socket or any other file is an error. A plain
// shutdown (Stop without an upgrade) removes the socket files; tableflip
// does so if the path holds a socket, whichever it is.
//
// Under systemd (Type=notify, NotifyAccess=all) the service's main process
// changes with each upgrade: the successor sends MAINPID= with its own pid
// from Ready, before the old process is told to drain, and the old process
// sends nothing more once Upgrade has succeeded (its engine's STOPPING=1
// would read as the service stopping). PIDFile, written by the serving
// process, tells systemd the same for units that use PIDFile=.
// docs/evloop-echo.service is a sample unit.
package upgrade

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudflare/tableflip"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/internal/pidfile"
	"github.com/evloop/evloop/internal/sdnotify"
	"github.com/evloop/evloop/internal/socket"
	"github.com/evloop/evloop/reactor"
)

// DefaultDrainTimeout is a bound for the old process's drain once its
// successor serves (Engine.Drain after Exit), and the examples' default
// -drain-timeout: long enough for a client to finish its requests and close
// its conn, or for a protocol's goodbye to take effect; short enough that
// the next upgrade, refused until the old process has exited, waits little.
const DefaultDrainTimeout = 30 * time.Second

// Options configure an Upgrader.
type Options struct {
	// PIDFile, when set, receives the pid of the process that serves: the
	// new one once it is ready. Supervisors that signal by pid file send
	// their next SIGHUP to the right process. It is written without
	// following a link at the path (package internal/pidfile) and removed
	// by Stop while it still names this process.
	PIDFile string
	// Timeout bounds how long an upgrade waits for the new process to be
	// ready before it kills it and the old one serves on (default 1 min).
	Timeout time.Duration
}

// Upgrader hands a process's listening sockets to its successor. There is
// one per process.
type Upgrader struct {
	tf       *tableflip.Upgrader
	pidFile  string
	ready    atomic.Bool // Ready was called
	stopping atomic.Bool // Stop was called
	// exit closes after tableflip's: once a successful upgrade has made
	// this process silent to systemd, so that nothing the process does on
	// Exit (its engine's STOPPING=1) can reach systemd.
	exit chan struct{}
	// parentGone closes once the parent, if any, has exited: from then on
	// an upgrade may begin.
	parentGone chan struct{}
}

// ErrUnsupported is returned by Listen for addresses whose sockets cannot
// be passed on (fifo://, fd://, systemd:// and ?fd=: they have their own
// owners).
var ErrUnsupported = errors.New("upgrade: address cannot be inherited")

// New returns the process's Upgrader. A process started by Upgrade finds
// its parent's sockets here.
func New(o Options) (*Upgrader, error) {
	// The pid file is written here, not by tableflip: its write follows a
	// link at the path, and nothing removes the file at exit.
	tf, err := tableflip.New(tableflip.Options{UpgradeTimeout: o.Timeout})
	if err != nil {
		return nil, fmt.Errorf("upgrade: %w", err)
	}
	u := &Upgrader{tf: tf, pidFile: o.PIDFile, exit: make(chan struct{})}
	go func() {
		<-tf.Exit() // closed by Stop or by a successful upgrade, nothing else
		if !u.stopping.Load() {
			sdnotify.HandOver()
		}
		close(u.exit)
	}()
	u.parentGone = make(chan struct{})
	if tf.HasParent() {
		go func() {
			// An error means the parent wrote to the pipe before exiting;
			// it has exited all the same.
			_ = tf.WaitForParent(context.Background())
			close(u.parentGone)
		}()
	} else {
		close(u.parentGone)
	}
	return u, nil
}

// HasParent tells whether this process was started by an upgrade.
func (u *Upgrader) HasParent() bool { return u.tf.HasParent() }

// ParentExited is closed once the process that started this one by an
// upgrade has exited, its drain over (at once in a process without a
// parent). Until then an upgrade is refused: the old process may drain for
// a while after this one serves.
func (u *Upgrader) ParentExited() <-chan struct{} { return u.parentGone }

// closed tells whether c is closed, without waiting.
func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Listen binds each address, or takes the socket the parent bound for it,
// and returns the addresses to pass to reactor.Start: each as given, with
// fd=N added to its query. The sockets are kept for the next upgrade.
func (u *Upgrader) Listen(addrs []string) ([]string, error) {
	out := make([]string, 0, len(addrs))
	for _, s := range addrs {
		a, err := reactor.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		if _, ok := a.InheritedFD(); ok {
			return nil, fmt.Errorf("upgrade: %s: %w (it names a socket already)", s, ErrUnsupported)
		}
		fd, err := u.socket(a)
		if err != nil {
			return nil, fmt.Errorf("upgrade: %s: %w", s, err)
		}
		sep := "?"
		if strings.Contains(s, "?") {
			sep = "&"
		}
		out = append(out, s+sep+"fd="+strconv.Itoa(fd))
	}
	return out, nil
}

// socket returns a duplicate of the listening socket for a: the engine
// takes the duplicate over (and closes it when it stops), while tableflip
// keeps its own for the successor. The listener tableflip returns is
// closed at once: it is one more copy (a unix one set not to remove its
// path on close).
func (u *Upgrader) socket(a reactor.Addr) (int, error) {
	network, target := a.Network(), a.Target
	var sc syscall.Conn
	switch network {
	case "tcp", "tcp4", "tcp6", "unix", "tls", "tls+unix":
		switch network {
		case "tls":
			network = "tcp"
		case "tls+unix":
			network = "unix"
		}
		var bindErr error // what listen said, which tableflip flattens
		ln, err := u.tf.ListenWithCallback(network, target, func(network, address string) (net.Listener, error) {
			ln, err := listen(network, address)
			bindErr = err
			return ln, err
		})
		if bindErr != nil {
			return -1, bindErr
		}
		if err != nil {
			return -1, err
		}
		defer ln.Close() // tableflip holds its own copy
		sc = ln.(syscall.Conn)
	case "udp", "udp4", "udp6":
		pc, err := u.tf.ListenPacket(network, target)
		if err != nil {
			return -1, err
		}
		defer pc.Close()
		sc = pc.(*net.UDPConn)
	default:
		return -1, ErrUnsupported
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	dup := -1
	cerr := raw.Control(func(fd uintptr) {
		dup, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr != nil {
		return -1, cerr
	}
	return dup, err
}

// listen binds a socket the parent did not pass on. A unix path gets the
// reactor's rule: a stale socket file (a crashed server's: its connect is
// refused) is removed first, so a server killed with SIGKILL restarts; a
// live server's socket or any other file is left, and the bind fails.
func listen(network, address string) (net.Listener, error) {
	if network == "unix" {
		if err := socket.RemoveStaleUnixSocket(address); err != nil {
			return nil, err
		}
	}
	return net.Listen(network, address)
}

// Ready tells the parent, if any, that this process serves: the parent's
// Exit channel closes and it drains. Call it once the engine has started.
// A process started by an upgrade first tells systemd, if it runs under
// it, that it is the service's main process now.
func (u *Upgrader) Ready() error {
	if u.pidFile != "" {
		// Before the parent is told, as tableflip did: the parent's Stop
		// then finds the successor's pid there and leaves the file.
		if err := pidfile.Write(u.pidFile); err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
	}
	var notifyErr error
	if u.tf.HasParent() {
		if err := sdnotify.MainPID(); err != nil {
			notifyErr = fmt.Errorf("upgrade: telling systemd MAINPID: %w", err)
		}
	}
	err := u.tf.Ready()
	u.ready.Store(true)
	return errors.Join(err, notifyErr)
}

// Upgrade starts the binary this process runs (as it is on disk now) with
// the same arguments and the listening sockets, and waits until it is ready
// or has failed. On success Exit closes.
func (u *Upgrader) Upgrade() error {
	for try := 0; ; try++ {
		err := u.tf.Upgrade()
		if err == nil {
			<-u.exit // silent to systemd, which heeds the successor now
			return nil
		}
		// tableflip learns of Ready, of the parent's exit and of the
		// request on channels it selects between at random, so a request
		// right after Ready can find it "not ready yet", and one right
		// after the parent's exit "parent hasn't exited": ask again, for a
		// bounded while.
		notReady := u.ready.Load() && strings.Contains(err.Error(), "not ready")
		parentBusy := closed(u.parentGone) && strings.Contains(err.Error(), "parent hasn't exited")
		if try == 50 || !notReady && !parentBusy {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Exit is closed when this process should stop serving: a successor is
// ready, or Stop was called.
func (u *Upgrader) Exit() <-chan struct{} { return u.exit }

// Stop ends upgrades: call it when the process exits. Called without a
// successful upgrade (a plain shutdown), it also closes tableflip's copies
// of the sockets and removes the unix sockets' files; after an upgrade they
// are the successor's. The pid file is removed if it still names this
// process (after an upgrade it names the successor). It returns once that
// is done, so that a process that exits right after leaves no socket file
// behind.
func (u *Upgrader) Stop() {
	u.stopping.Store(true)
	u.tf.Stop()
	<-u.exit
	if u.pidFile != "" {
		pidfile.Remove(u.pidFile) // only if it names this process still
	}
}
