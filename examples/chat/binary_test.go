package main

import (
	"syscall"
	"testing"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestBinary builds the command and drives it as a user would: it reads the
// "listening" line, chats with two clients, and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	bin := cmdtest.Build(t, "chat")
	for _, backend := range []string{"native", "gnet"} {
		t.Run(backend, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tcp://127.0.0.1:0", "-loops", "2", "-backend", backend)
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
