package reactor_test

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// TestTLSOpenSSLKeyUpdate drives the TLS echo with openssl s_client, which
// can send TLS 1.3 KeyUpdate messages ("K": update and ask the server to
// update too). crypto/tls handles them inside Read, on the loop, and its
// answer goes out through the layer: the echo after them must still arrive.
func TestTLSOpenSSLKeyUpdate(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	for _, b := range tlsBackends {
		t.Run(b.name, func(t *testing.T) {
			srv, _ := tlsPair(t, "127.0.0.1")
			h := newTLSEcho()
			layer, addr := startTLS(t, h, srv, reactor.TLSOptions{}, b.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), tlsBound)
			defer cancel()
			cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-tls1_3", "-no_ign_eof")
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			stdout, w := io.Pipe()
			cmd.Stdout = w
			cmd.Stderr = cmd.Stdout // openssl says KEYUPDATE on stderr
			require.NoError(t, cmd.Start())
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
				w.Close()
			}()
			lines := make(chan string, 256)
			go func() {
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					select {
					case lines <- sc.Text():
					default: // nobody waits any more
					}
				}
				close(lines)
			}()
			waitLine := func(want string) {
				t.Helper()
				timeout := time.After(tlsBound)
				for {
					select {
					case l, ok := <-lines:
						require.True(t, ok, "openssl ended before %q", want)
						if strings.TrimSpace(l) == want {
							return
						}
					case <-timeout:
						t.Fatalf("no %q from openssl", want)
					}
				}
			}
			io.WriteString(stdin, "hello\n")
			waitLine("hello")
			// A command must come alone in a read of stdin.
			io.WriteString(stdin, "K\n")
			waitLine("KEYUPDATE")
			io.WriteString(stdin, "after one\n")
			waitLine("after one")
			io.WriteString(stdin, "K\n")
			waitLine("KEYUPDATE")
			io.WriteString(stdin, "after two\n")
			waitLine("after two")
			io.WriteString(stdin, "Q\n")
			require.NoError(t, h.closeErr(t), "openssl's Q ends with close_notify")
			require.Equal(t, int64(1), layer.Stats().Handshakes)
		})
	}
}
