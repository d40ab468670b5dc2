package reactor_test

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/evloop/evloop/reactor"
)

// BenchmarkTLSHandshakeEcho is one TLS conn's life over loopback: connect,
// handshake (ECDSA P-256, TLS 1.3), one byte echoed, close. The client is
// crypto/tls over package net, in the benchmark's goroutine.
func BenchmarkTLSHandshakeEcho(b *testing.B) {
	for _, be := range tlsBackends {
		b.Run(be.name, func(b *testing.B) {
			srv, cli := tlsPair(b, "127.0.0.1")
			layer, addr := startTLS(b, newTLSEcho(), srv, reactor.TLSOptions{}, be.opts...)
			one := make([]byte, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				nc, err := net.DialTimeout("tcp", addr, tlsBound)
				if err != nil {
					b.Fatal(err)
				}
				c := tls.Client(nc, cli)
				c.SetDeadline(time.Now().Add(tlsBound))
				if _, err := c.Write(one); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, one); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
			b.StopTimer()
			if st := layer.Stats(); st.HandshakeFailures > 0 {
				b.Fatalf("%+v", st)
			}
		})
	}
}
