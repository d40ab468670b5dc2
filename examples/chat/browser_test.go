//go:build linux

package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// chromiumPath finds Debian's chromium. CI installs it (.ci/run), and
// there the test is never skipped; elsewhere it is skipped without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser test")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	return p
}

// startChromium opens url in a headless Chromium with a fresh profile,
// and kills its process group when the test ends.
func startChromium(t *testing.T, bin, url string, extra ...string) {
	t.Helper()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}, extra...)
	cmd := exec.Command(bin, append(args, url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the browser and its helpers: a group of our own
		select {
		case <-exited:
		case <-time.After(waitLimit):
			t.Error("chromium did not exit after SIGKILL")
		}
		if t.Failed() {
			t.Logf("chromium's stderr:\n%s", stderr.String())
		}
	})
}

// TestBrowserChat: a real browser (headless Chromium) loads the chat page
// from -http, joins at once under a generated nick, sends a line the nc
// user reads, and shows the nc user's line: the page's self-test mode
// sends back what it displayed. Over http:// and https:// (tls://, a
// self-signed certificate the browser is told to accept).
func TestBrowserChat(t *testing.T) {
	bin := chromiumPath(t)
	for _, scheme := range []string{"tcp", "tls"} {
		t.Run(scheme, func(t *testing.T) {
			s := startWeb(t, scheme)
			bob := join(t, s.ncAddr, "bob", 0)
			startChromium(t, bin, s.url("http", "/?selftest=1"), "--ignore-certificate-errors")

			joined := bob.line()
			guest, ok := strings.CutSuffix(strings.TrimPrefix(joined, "* "), " joined")
			require.True(t, ok && strings.HasPrefix(guest, "guest-"), "bob read %q", joined)
			bob.expect("<" + guest + "> hello from the browser")
			bob.send("ping from nc")
			bob.expect("<" + guest + "> saw: <bob> ping from nc")
			bob.send("/who")
			bob.expect("* here (2): bob " + guest)
		})
	}
}
