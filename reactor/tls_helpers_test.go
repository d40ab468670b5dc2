package reactor_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// tlsBound bounds every wait in the TLS tests.
const tlsBound = 30 * time.Second

// tlsBackends are the backends the TLS layer runs above.
var tlsBackends = []struct {
	name string
	opts []reactor.Option
}{
	// A short linger: the clients rarely close first, and the default 2 s
	// wait for their EOF at each close would only make the tests slow.
	{"native", []reactor.Option{reactor.WithLingerTimeout(200 * time.Millisecond)}},
	{"gnet", []reactor.Option{reactor.WithBackend(gnetbackend.New()), reactor.WithLingerTimeout(200 * time.Millisecond)}},
}

// testCert is a self-signed ECDSA certificate for names (DNS names, or IPs)
// and a pool that trusts it.
func testCert(t testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// tlsPair is a server config and a client config that trusts it.
func tlsPair(t testing.TB, names ...string) (server, client *tls.Config) {
	cert, pool := testCert(t, names...)
	return &tls.Config{Certificates: []tls.Certificate{cert}},
		&tls.Config{RootCAs: pool, ServerName: names[0]}
}

var quietLog = slog.New(slog.DiscardHandler)

// startTLS starts an engine on a loopback port whose handler is a TLS
// server layer over next.
func startTLS(t testing.TB, next reactor.Handler, cfg *tls.Config, o reactor.TLSOptions, opts ...reactor.Option) (*reactor.TLSLayer, string) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLog
	}
	layer := reactor.NewTLSServer(next, cfg, o)
	opts = append([]reactor.Option{reactor.WithLogger(quietLog)}, opts...)
	e, err := reactor.Start(layer, []string{"tcp://127.0.0.1:0"}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { tpStop(t, e) })
	return layer, e.Addrs()[0].String()
}

// tlsEcho echoes plaintext and reports what it sees.
type tlsEcho struct {
	reactor.BaseHandler
	mu     sync.Mutex
	opens  int
	states []tls.ConnectionState
	closed chan error
}

func newTLSEcho() *tlsEcho { return &tlsEcho{closed: make(chan error, 4096)} }

func (h *tlsEcho) OnOpen(c conn.Conn) reactor.Action {
	tc, ok := c.(reactor.TLSConn)
	if !ok {
		panic("not a TLSConn")
	}
	h.mu.Lock()
	h.opens++
	h.states = append(h.states, tc.ConnectionState())
	h.mu.Unlock()
	return reactor.None
}

func (h *tlsEcho) OnTraffic(c conn.Conn) reactor.Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return reactor.None
}

func (h *tlsEcho) OnClose(c conn.Conn, err error) { h.closed <- err }

func (h *tlsEcho) openCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opens
}

// closeErr waits for one OnClose.
func (h *tlsEcho) closeErr(t testing.TB) error {
	t.Helper()
	select {
	case err := <-h.closed:
		return err
	case <-time.After(tlsBound):
		t.Fatal("no OnClose")
	}
	return nil
}

// dialTLS dials addr with crypto/tls and completes the handshake.
func dialTLS(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: tlsBound}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	require.NoError(t, err)
	c.SetDeadline(time.Now().Add(tlsBound))
	return c
}

// recordConn is a net.Conn that notes the type of each TLS record it reads
// and can cut the next write short.
type recordConn struct {
	net.Conn
	mu      sync.Mutex
	pending []byte // a record header being read
	left    int    // bytes of the current record's body still to come
	types   []byte
	cutNext int // > 0: the next Write sends only this many bytes
}

func (r *recordConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	for b := p[:n]; len(b) > 0; {
		if r.left > 0 {
			k := min(r.left, len(b))
			r.left -= k
			b = b[k:]
			continue
		}
		k := min(5-len(r.pending), len(b))
		r.pending = append(r.pending, b[:k]...)
		b = b[k:]
		if len(r.pending) == 5 {
			r.types = append(r.types, r.pending[0])
			r.left = int(r.pending[3])<<8 | int(r.pending[4])
			r.pending = r.pending[:0]
		}
	}
	r.mu.Unlock()
	return n, err
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	cut := r.cutNext
	r.cutNext = 0
	r.mu.Unlock()
	if cut > 0 && cut < len(p) {
		return r.Conn.Write(p[:cut])
	}
	return r.Conn.Write(p)
}

func (r *recordConn) recordTypes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.types...)
}

// dialRecorded is dialTLS through a recordConn.
func dialRecorded(t testing.TB, addr string, cfg *tls.Config) (*tls.Conn, *recordConn) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, tlsBound)
	require.NoError(t, err)
	rc := &recordConn{Conn: nc}
	c := tls.Client(rc, cfg)
	c.SetDeadline(time.Now().Add(tlsBound))
	require.NoError(t, c.Handshake())
	return c, rc
}

// readN reads exactly n bytes.
func readN(t testing.TB, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	require.NoError(t, err)
	return b
}
