package main

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/examples/internal/cmdtest"
)

// TestBinaryTLS runs `echo -addr tls://127.0.0.1:0` with no certificate
// files, on both backends: it serves an ephemeral self-signed certificate
// whose SHA-256 fingerprint it prints on stderr, and echoes through TLS.
func TestBinaryTLS(t *testing.T) {
	bin := cmdtest.Build(t, "echo")
	for _, be := range []string{"native", "gnet"} {
		t.Run(be, func(t *testing.T) {
			p := cmdtest.Start(t, bin, "-addr", "tls://127.0.0.1:0", "-backend", be, "-loops", "2")
			addr := p.Addr("tls")
			var fingerprint string
			c, err := tls.Dial("tcp", addr, &tls.Config{
				InsecureSkipVerify: true, // self-signed: checked by fingerprint below
				VerifyConnection: func(cs tls.ConnectionState) error {
					sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
					fingerprint = hex.EncodeToString(sum[:])
					return nil
				},
			})
			require.NoError(t, err)
			echoStream(t, c)
			printed := strings.ToLower(strings.ReplaceAll(p.Stderr(), ":", ""))
			require.Contains(t, printed, fingerprint, "stderr: %s", p.Stderr())
			p.Stop(syscall.SIGTERM)
		})
	}
}
