//go:build linux

package reactor_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/evloop/evloop/reactor"
)

const emfileChildEnv = "EVLOOP_EMFILE_CHILD"

// TestEMFILEChild is the server half of TestAcceptSurvivesEMFILE: it runs
// only in the child process, with a lowered RLIMIT_NOFILE.
func TestEMFILEChild(t *testing.T) {
	if os.Getenv(emfileChildEnv) == "" {
		t.Skip("runs as the child of TestAcceptSurvivesEMFILE")
	}
	// The runtime opens its own epoll fd on the first timer. Make that
	// happen now: once the loop has used up every fd it would fail, and the
	// runtime treats that as fatal.
	time.Sleep(time.Millisecond)
	lim := unix.Rlimit{Cur: 64, Max: 64}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	e, err := reactor.Start(emfileEcho{}, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(1), reactor.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	fmt.Printf("addr %s\n", e.Addrs()[0])

	// Report once accept has backed off, with the loop's wakeups over the
	// following 300ms: a loop spinning on EMFILE would wake thousands of times.
	deadline := time.Now().Add(20 * time.Second)
	for e.Stats().AcceptBackoffs == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w0 := e.Stats().Wakeups
	time.Sleep(300 * time.Millisecond)
	fmt.Printf("wakeups %d backoffs %d\n", e.Stats().Wakeups-w0, e.Stats().AcceptBackoffs)

	io.Copy(io.Discard, os.Stdin) // the parent closes stdin when done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Stop(ctx)
}

// TestAcceptSurvivesEMFILE runs a server whose process is out of fds: accept
// must not spin, and serving must resume once fds are freed.
func TestAcceptSurvivesEMFILE(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEMFILEChild$", "-test.v")
	cmd.Env = append(os.Environ(), emfileChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatal("child did not exit")
		}
	}()
	lines := bufio.NewScanner(stdout)
	addr := ""
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "addr "); ok {
			addr = a
			break
		}
	}
	require.NotEmpty(t, addr, "child did not report its address")

	// Far more conns than the child has fds: the kernel completes them into
	// the backlog, and the child runs out of fds accepting them.
	const total = 120
	clients := make([]net.Conn, 0, total)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for i := 0; i < total; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		clients = append(clients, c)
	}

	var report string
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "wakeups ") {
			report = lines.Text()
			break
		}
	}
	var wakeups, backoffs int
	_, err = fmt.Sscanf(report, "wakeups %d backoffs %d", &wakeups, &backoffs)
	require.NoError(t, err, "child report %q", report)
	t.Log("child:", report)
	require.Greater(t, backoffs, 0)
	require.Less(t, wakeups, 200, "the loop spun while out of fds")

	// Every conn asks for an echo and closes once it has it, which frees a
	// child fd for the next: all must be served once fds free up.
	results := make(chan error, len(clients))
	for _, c := range clients {
		_, err := c.Write([]byte("p"))
		require.NoError(t, err)
		go func() {
			c.SetDeadline(time.Now().Add(20 * time.Second))
			b := make([]byte, 1)
			_, err := io.ReadFull(c, b)
			c.Close()
			results <- err
		}()
	}
	for range clients {
		require.NoError(t, <-results, "a conn was not served after fds freed up")
	}
}
