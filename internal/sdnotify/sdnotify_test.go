package sdnotify

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestMainPIDAndHandOver: MAINPID= names this process; after HandOver
// nothing reaches the socket any more.
func TestMainPIDAndHandOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	read := func() (string, error) {
		buf := make([]byte, 128)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}

	if err := MainPID(); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err != nil || got != "MAINPID="+strconv.Itoa(os.Getpid()) {
		t.Fatalf("got %q, %v", got, err)
	}
	Ready(slog.New(slog.DiscardHandler))
	if got, err := read(); err != nil || got != "READY=1" {
		t.Fatalf("got %q, %v", got, err)
	}

	HandOver()
	if _, ok := os.LookupEnv("NOTIFY_SOCKET"); ok {
		t.Fatal("NOTIFY_SOCKET still set")
	}
	Stopping(slog.New(slog.DiscardHandler))
	if err := MainPID(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 128)); err == nil {
		t.Fatalf("a message after HandOver: %d bytes", n)
	}
}
