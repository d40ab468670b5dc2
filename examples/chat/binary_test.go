package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestBinary builds the command and drives it as a user would: it reads the
// "listening" line, chats with two clients, and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	bin := cmdtest.Build(t, "chat")
	for _, backend := range []string{"native", "gnet", "uring"} {
		t.Run(backend, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-http", "", "-loops", "2", "-backend", backend)
			addr := p.Addr("tcp")

			alice := join(t, addr, "alice", 0)
			bob := join(t, addr, "bob", 1)
			alice.expect("* bob joined")
			alice.send("hello bob")
			bob.expect("<alice> hello bob")
			bob.send("/me waves")
			alice.expect("* bob waves")

			p.Stop(syscall.SIGTERM)
			for _, c := range []*client{alice, bob} {
				c.expect("* server shutting down")
				c.expectEOF()
			}
		})
	}
}

// TestBinaryStuckClient is the stuck-client scenario against the binary, as
// a user would meet it (issue 11): three members that read, one that never
// reads behind a 4 KiB receive buffer (set before the connect, so that its
// window stays small), and one that sends lines. The stuck member must be
// disconnected for falling behind, and the readers must get every line, in
// order, without waiting for it.
//
// The sender sends in rounds, each well under the backlog limit but more
// lines than one writev(2) takes (IOV_MAX), and the next round goes once
// every reader has the last: a reader that falls MaxBacklog behind is, to
// the server, as stuck as the stuck one, and the test's readers may be slow
// (under the race detector, on a busy machine). The stuck member falls
// behind by all rounds, until the server's kernel buffer towards it and then
// its backlog are full; maxRounds bounds the test.
func TestBinaryStuckClient(t *testing.T) {
	const (
		readers   = 3
		perRound  = 1100 // lines of 100 bytes: 110 KB
		maxRounds = 80   // 8.8 MB: beyond any kernel buffer plus the backlog limit
	)
	bin := cmdtest.Build(t, "chat")
	for _, tc := range []struct {
		name, backend string
		backlog       int
	}{
		{"native", "native", DefaultMaxBacklog},
		{"gnet", "gnet", DefaultMaxBacklog},
		// A backlog limit above the engine's high watermark (1 MiB): the
		// stuck conn passes it before the room disconnects it, and the
		// room then depends on a Wake reaching OnTraffic above it.
		{"native/backlog-above-high", "native", 2 << 20},
		{"gnet/backlog-above-high", "gnet", 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-http", "", "-loops", "2", "-backend", tc.backend, "-maxbacklog", strconv.Itoa(tc.backlog))
			addr := p.Addr("tcp")

			var members []*client
			for i := range readers {
				members = append(members, join(t, addr, fmt.Sprintf("r%d", i), i))
				for _, m := range members[:i] {
					m.expect(fmt.Sprintf("* r%d joined", i))
				}
			}
			stuck := dial(t, addr, 4096)
			stuck.send("stuck") // and never read, until it is disconnected
			for _, m := range members {
				m.expect("* stuck joined")
			}
			sender := join(t, addr, "sender", readers+1)
			for _, m := range members {
				m.expect("* sender joined")
			}

			// Each reader checks that every line comes, in order, signals
			// each round it has, and passes notices on.
			var (
				failed   = make(chan error, readers)
				progress = make([]chan struct{}, readers)
				notices  = make(chan string, readers)
				ending   = make(chan struct{}) // closed when the test stops reading
				endOnce  sync.Once
				wg       sync.WaitGroup
			)
			for i, m := range members {
				progress[i] = make(chan struct{}, maxRounds)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next := 0; ; {
						m.conn.SetReadDeadline(time.Now().Add(waitLimit))
						s, err := m.in.ReadString('\n')
						if err != nil {
							select {
							case failed <- fmt.Errorf("r%d: %w after %d lines", i, err, next):
							case <-ending:
							}
							return
						}
						s = strings.TrimSuffix(s, "\n")
						if strings.HasPrefix(s, "* ") {
							select {
							case notices <- s:
							case <-ending:
							}
							continue
						}
						if want := "<sender> " + stuckLine(next); s != want {
							select {
							case failed <- fmt.Errorf("r%d: line %d: got %q", i, next, s):
							case <-ending:
							}
							return
						}
						if next++; next%perRound == 0 {
							select {
							case progress[i] <- struct{}{}:
							case <-ending:
							}
						}
					}
				}()
			}
			closeReaders := func() {
				endOnce.Do(func() { close(ending) })
				for _, m := range members {
					m.conn.Close()
				}
				wg.Wait()
			}
			t.Cleanup(closeReaders)

			// Rounds until every reader has heard that stuck left, and one
			// more: the room goes on without it.
			start := time.Now()
			left, after := 0, 0
			for r := 0; after < 1; r++ {
				require.Less(t, r, maxRounds, "stuck was not disconnected after %d bytes", r*perRound*len(stuckLine(0)))
				if left == readers {
					after++
				}
				var batch strings.Builder
				for i := r * perRound; i < (r+1)*perRound; i++ {
					batch.WriteString(stuckLine(i))
					batch.WriteByte('\n')
				}
				sender.write(batch.String())
				timeout := time.After(waitLimit)
				for i := range members {
					for got := false; !got; {
						select {
						case <-progress[i]:
							got = true
						case n := <-notices:
							require.Equal(t, "* stuck left (too slow)", n)
							left++
						case err := <-failed:
							require.NoError(t, err)
						case <-timeout:
							require.FailNowf(t, "timeout", "round %d: r%d did not get the lines", r, i)
						}
					}
				}
			}
			t.Logf("stuck disconnected and every line delivered in %v", time.Since(start))
			sender.expect("* stuck left (too slow)")

			// The stuck member gets what it was sent before its
			// disconnection, then why, then the end of the stream.
			behind := regexp.MustCompile(`^\* disconnected: you fell \d+ bytes behind \(limit ` + strconv.Itoa(tc.backlog) + `\)$`)
			for {
				if s := stuck.line(); behind.MatchString(s) {
					break
				}
			}
			stuck.expectEOF()

			// The others leave first: the server waits a while for the
			// end of stream of a client it closes.
			sender.conn.Close()
			closeReaders()
			p.Stop(syscall.SIGTERM)
		})
	}
}

// stuckLine is the sender's i-th line; the others get it as 100 bytes.
func stuckLine(i int) string {
	return fmt.Sprintf("%06d %s", i, strings.Repeat("x", 83))
}
