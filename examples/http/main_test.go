package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// curlPath finds curl; in CI (CI set) its absence fails the test.
func curlPath(t *testing.T) string {
	p, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is required in CI (.ci/run installs it)")
		}
		t.Skip("no curl on PATH")
	}
	return p
}

func curl(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-sS", "--max-time", "10"}, args...)...).CombinedOutput()
	require.NoError(t, err, "curl %q: %s", args, out)
	return string(out)
}

// TestCurl drives the example with curl: keep-alive reuse, --http1.0,
// HEAD, a chunked upload with 100-continue, the net/http page, and https
// over tls:// with -k, on both backends.
func TestCurl(t *testing.T) {
	c := curlPath(t)
	bin := cmdtest.Build(t, "http")
	for _, be := range []string{"native", "gnet"} {
		t.Run(be, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-backend", be, "-loops", "2")
			base := "http://" + p.Addr("tcp")

			out := curl(t, c, "-v", base+"/plaintext", base+"/json")
			require.Contains(t, out, "Hello, World!")
			require.Contains(t, out, `{"message":"Hello, World!"}`)
			require.Contains(t, out, "Re-using existing connection")

			out = curl(t, c, "-i", "--http1.0", base+"/plaintext")
			require.Contains(t, out, "Connection: close")

			out = curl(t, c, "-I", base+"/plaintext")
			require.Contains(t, out, "Content-Length: 13")
			require.NotContains(t, out, "Hello")

			cmd := exec.Command(c, "-sS", "--max-time", "10", "-v", "-T", "-", "-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue", base+"/hello/upload")
			cmd.Stdin = strings.NewReader("some body")
			b, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", b)
			require.Contains(t, string(b), "100 Continue")

			out = curl(t, c, base+"/")
			require.Contains(t, out, "Hello from net/http on evloop")
			out = curl(t, c, base+"/hello/gopher")
			require.Equal(t, "hello, gopher\n", out)
			p.Stop(syscall.SIGTERM)
		})
	}
	t.Run("tls", func(t *testing.T) {
		p := cmdtest.Start(t, bin, "-addr", "tls://127.0.0.1:0")
		out := curl(t, c, "-k", "https://"+p.Addr("tls")+"/plaintext")
		require.Equal(t, "Hello, World!", out)
		// curl offers h2 and http/1.1; the server picks http/1.1 by ALPN.
		out = curl(t, c, "-k", "-v", "https://"+p.Addr("tls")+"/plaintext")
		require.Regexp(t, `ALPN.*(accepted|server accepted to use) http/1\.1`, out)
		p.Stop(syscall.SIGTERM)
	})
}
