package main

// End-to-end tests: a room on an in-process engine with two loops, and
// clients over real loopback sockets.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/reactor"
)

func TestNickRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		s := startServer(t, config{}, opts...)
		a := dial(t, s.addr, 0)
		a.greeted()
		for _, tc := range []struct{ nick, answer string }{
			{"", "! a nick cannot be empty"},
			{"two words", "! a nick cannot contain spaces or control characters (found ' ')"},
			{"tab\there", `! a nick cannot contain spaces or control characters (found '\t')`},
			{"bell\a", `! a nick cannot contain spaces or control characters (found '\a')`},
			{"nbsp\u00a0", `! a nick cannot contain spaces or control characters (found '\u00a0')`},
			{strings.Repeat("x", MaxNick+1), "! a nick is at most 32 bytes; that one is 33"},
			{"bad\xff", "! a nick must be valid UTF-8"},
			{"/who", "! choose a nick first; then try " + commands},
		} {
			a.send(tc.nick)
			a.expect(tc.answer, "* choose a nick:")
		}
		a.write("alice\r\n") // telnet's line end
		a.joined("alice", 0)

		b := dial(t, s.addr, 0)
		b.greeted()
		for _, taken := range []string{"alice", "ALICE", "Alice"} {
			b.send(taken)
			b.expect(fmt.Sprintf("! nick %q is taken", taken), "* choose a nick:")
		}
		long := strings.Repeat("é", MaxNick/2) // 32 bytes
		b.send(long)
		b.joined(long, 1)
		a.expect("* " + long + " joined")

		c := dial(t, s.addr, 0)
		c.greeted()
		c.send("/quit")
		c.expect("* bye")
		c.expectEOF()
	})
}

func TestCommandsAndNotices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		s := startServer(t, config{}, opts...)
		alice := join(t, s.addr, "alice", 0)
		bob := join(t, s.addr, "bob", 1)
		alice.expect("* bob joined")

		bob.write("hello\r\n")
		alice.expect("<bob> hello")
		alice.send("hi bob")
		bob.expect("<alice> hi bob")

		bob.send("/who")
		bob.expect("* here (2): alice bob")
		bob.send("/me waves")
		alice.expect("* bob waves")
		bob.send("/nick robert")
		bob.expect("* bob is now known as robert")
		alice.expect("* bob is now known as robert")
		bob.send("/nick Robert") // a change of case only
		bob.expect("* robert is now known as Robert")
		alice.expect("* robert is now known as Robert")
		bob.send("/nick Alice", "/nick", "/nick a b", "/me", "/bogus x", "/help")
		bob.expect(
			`! nick "Alice" is taken`,
			"! usage: /nick NEW",
			"! a nick cannot contain spaces or control characters (found ' ')",
			"! usage: /me ACTION",
			"! unknown command /bogus; commands: "+commands,
			strings.TrimSuffix(helpLine, "\n"),
		)
		bob.send("", "//slash", "beep\a \x1b[31mred")
		alice.expect("<Robert> /slash", "<Robert> beep? ?[31mred")

		carol := join(t, s.addr, "carol", 2)
		alice.expect("* carol joined")
		bob.expect("* carol joined")
		carol.send("/who")
		carol.expect("* here (3): alice carol Robert")

		bob.send("/quit")
		bob.expect("* bye")
		bob.expectEOF()
		alice.expect("* Robert left")
		carol.expect("* Robert left")
		require.NoError(t, s.waitClose(t, bob.conn.LocalAddr().String()))

		carol.conn.Close()
		alice.expect("* carol left")
		alice.send("/who")
		alice.expect("* here (1): alice")
	})
}

func TestLineTooLong(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		const maxLine = 4096
		s := startServer(t, config{MaxLine: maxLine}, opts...)
		alice := join(t, s.addr, "alice", 0)
		bob := join(t, s.addr, "bob", 1)
		alice.expect("* bob joined")

		longest := strings.Repeat("x", maxLine)
		bob.write(longest + "\r\n")
		alice.expect("<bob> " + longest)

		bob.send(longest + "y")
		bob.expect("! line too long (limit 4096 bytes); bye")
		bob.expectEOF()
		alice.expect("* bob left (line too long)")
		err := s.waitClose(t, bob.conn.LocalAddr().String())
		require.ErrorIs(t, err, codec.ErrFrameTooLarge)

		// A line that never ends is cut off as soon as it passes the limit.
		carol := join(t, s.addr, "carol", 1)
		alice.expect("* carol joined")
		carol.write(strings.Repeat("z", 3*maxLine))
		carol.expect("! line too long (limit 4096 bytes); bye")
		carol.expectEOF()
		alice.expect("* carol left (line too long)")
		require.ErrorIs(t, s.waitClose(t, carol.conn.LocalAddr().String()), codec.ErrFrameTooLarge)
	})
}

// chatLine is the line client i sends as its seq'th message. Its contents
// depend on seq, so a buffer reused or modified in flight would show.
func chatLine(i, seq int) string {
	return fmt.Sprintf("m %d %05d %s", i, seq, strings.Repeat(string(rune('a'+seq%26)), 80))
}

// TestStuckClient has three clients chat at full speed while a fourth, with
// a tiny receive buffer, never reads. The three must receive every message
// in order, the fourth must be disconnected, and the server's buffered
// output must stay bounded.
//
// The three send in rounds: each sends a batch of lines at once, then they
// wait until each has received the others' batches. A healthy client that
// falls behind by MaxBacklog is, to the server, the same as a stuck one;
// the rounds keep the test's own readers (which may be slow, say under the
// race detector) from ever being that far behind, while the stuck client
// falls behind by all of it.
func TestStuckClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		const (
			maxBacklog = 64 << 10
			clients    = 3
			rounds     = 20
			perRound   = 100
			messages   = rounds * perRound // per client
		)
		// A small kernel send buffer, so that the stuck client's backlog
		// builds in the server's memory, where the room can see it.
		opts = append(opts, reactor.WithSocketBuffers(0, 16<<10))
		s := startServer(t, config{MaxBacklog: maxBacklog, CloseGrace: time.Minute}, opts...)

		var healthy [clients]*client
		for i := range healthy {
			healthy[i] = join(t, s.addr, fmt.Sprintf("c%d", i), i)
			for j := range i {
				healthy[j].expect(fmt.Sprintf("* c%d joined", i))
			}
		}
		stuck := dial(t, s.addr, 4096)
		stuck.send("stuck") // and never read, until the end
		for _, c := range healthy {
			c.expect("* stuck joined")
		}

		// The server's buffered output, sampled while the clients chat.
		var peak atomic.Int64
		stopSampling := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				if n := s.eng.Stats().OutboundBuffered; n > peak.Load() {
					peak.Store(n)
				}
				select {
				case <-stopSampling:
					return
				case <-tick.C:
				}
			}
		}()

		// Readers check that messages come whole and in order, signal each
		// round they have received from both others, and pass on notices.
		var (
			progress [clients]chan struct{}
			notices  [clients]chan string
			failures = make(chan error, clients)
		)
		for i, c := range healthy {
			progress[i] = make(chan struct{}, rounds)
			notices[i] = make(chan string, 16)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var next [clients]int
				got := 0
				for {
					c.conn.SetReadDeadline(time.Now().Add(waitLimit))
					line, err := c.in.ReadString('\n')
					if err != nil {
						failures <- fmt.Errorf("c%d: %w after %d messages", i, err, got)
						return
					}
					line = strings.TrimSuffix(line, "\n")
					if !strings.HasPrefix(line, "<") {
						notices[i] <- line
						continue
					}
					var from int
					if _, err := fmt.Sscanf(line, "<c%d>", &from); err != nil || from == i || from < 0 || from >= clients {
						failures <- fmt.Errorf("c%d: unexpected line %q", i, line)
						return
					}
					if want := fmt.Sprintf("<c%d> %s", from, chatLine(from, next[from])); line != want {
						failures <- fmt.Errorf("c%d: got %q, want %q", i, line, want)
						return
					}
					next[from]++
					got++
					if got%((clients-1)*perRound) == 0 {
						progress[i] <- struct{}{}
					}
				}
			}()
		}
		t.Cleanup(func() {
			for _, c := range healthy {
				c.conn.Close() // ends the readers, if a failure left them running
			}
			close(stopSampling)
			wg.Wait()
		})

		for r := range rounds {
			for i, c := range healthy {
				var batch strings.Builder
				for seq := r * perRound; seq < (r+1)*perRound; seq++ {
					batch.WriteString(chatLine(i, seq))
					batch.WriteByte('\n')
				}
				c.write(batch.String())
			}
			for i := range healthy {
				select {
				case <-progress[i]:
				case err := <-failures:
					require.NoError(t, err)
					require.FailNow(t, "a reader stopped early")
				case <-time.After(waitLimit):
					require.FailNowf(t, "timeout", "round %d: c%d did not receive the others' messages", r, i)
				}
			}
		}
		for i := range healthy {
			select {
			case n := <-notices[i]:
				require.Equal(t, "* stuck left (too slow)", n, "c%d", i)
			case <-time.After(waitLimit):
				require.FailNowf(t, "timeout", "c%d was not told that stuck left", i)
			}
		}

		// Bounded: the stuck conn's backlog (at most twice the limit: a
		// delivery may overshoot it by one outbox of at most the limit)
		// plus what the healthy clients had not read yet. (The gnet backend
		// does not count OutboundBuffered in Stats: there it reads 0.)
		msgLen := len("<c0> " + chatLine(0, 0) + "\n")
		bound := int64(2*maxBacklog + clients*(clients-1)*perRound*msgLen + 1024)
		sentToStuck := int64(clients * messages * msgLen)
		t.Logf("peak outbound %d bytes, bound %d, sent to the stuck client %d", peak.Load(), bound, sentToStuck)
		require.LessOrEqual(t, peak.Load(), bound)

		// The stuck client now reads: what it was sent before the kick, in
		// order, then the notice, then the end of the stream.
		stuck.expect("* welcome to evloop chat", "* choose a nick:", "* hello stuck; 4 here (/who lists them)", strings.TrimSuffix(helpLine, "\n"))
		var next [clients]int
		received := 0
		for {
			line := stuck.line()
			if strings.HasPrefix(line, "* disconnected: ") {
				require.Contains(t, line, fmt.Sprintf("(limit %d)", maxBacklog))
				break
			}
			var from int
			_, err := fmt.Sscanf(line, "<c%d>", &from)
			require.NoError(t, err, line)
			require.Equal(t, fmt.Sprintf("<c%d> %s", from, chatLine(from, next[from])), line)
			next[from]++
			received++
		}
		stuck.expectEOF()
		t.Logf("the stuck client was sent %d of %d messages before its disconnection", received, clients*messages)
		require.Less(t, received, clients*messages)

		require.NoError(t, s.waitClose(t, stuck.conn.LocalAddr().String()))
		healthy[0].send("/who")
		select {
		case n := <-notices[0]:
			require.Equal(t, "* here (3): c0 c1 c2", n)
		case err := <-failures:
			require.NoError(t, err)
		case <-time.After(waitLimit):
			require.FailNow(t, "no answer to /who")
		}
	})
}

// TestStuckClientCutOff checks that a disconnected client that never reads
// does not hold its backlog for longer than CloseGrace.
func TestStuckClientCutOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		const maxBacklog = 16 << 10
		opts = append(opts, reactor.WithSocketBuffers(0, 16<<10))
		// Outboxes big enough that the stuck client is disconnected for its
		// backlog in the kernel's stead, never for lines its loop had no
		// turn to deliver (the talker may share its loop).
		s := startServer(t, config{MaxBacklog: maxBacklog, MaxQueued: 1 << 20, CloseGrace: 200 * time.Millisecond}, opts...)
		talker := join(t, s.addr, "talker", 0)
		stuck := dial(t, s.addr, 4096)
		stuck.send("stuck")
		talker.expect("* stuck joined")

		line := strings.Repeat("x", 1000)
		var batch strings.Builder
		for range 100 {
			batch.WriteString(line + "\n")
		}
		// 300 KB: far more than the stuck client's backlog limit and the
		// kernel buffers on its way.
		for range 3 {
			talker.write(batch.String())
		}
		talker.expect("* stuck left (too slow)")
		err := s.waitClose(t, stuck.conn.LocalAddr().String())
		if err != nil || !isUring(opts) {
			// io_uring counts a send's bytes as buffered until its
			// completion is reaped: on a loaded machine the kick can come
			// while the kernel still has room, the rest then flushes, and
			// the conn ends cleanly after its linger instead.
			require.ErrorIs(t, err, reactor.ErrIdleTimeout)
		}
		require.Equal(t, 1, s.eng.Conns())
		require.Zero(t, s.eng.Stats().OutboundBuffered)
	})
}

// isUring: the options run the io_uring backend.
func isUring(opts []reactor.Option) bool {
	b := reactor.NewOptions(opts...).Backend
	return b != nil && b.Name() == "uring"
}
