package websocket

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
	"github.com/evloop/evloop/reactor/uringbackend"
)

// bound bounds every wait in these tests.
const bound = 20 * time.Second

// transports are the engines and address schemes the server tests run on.
var transports = []struct {
	name    string
	scheme  string
	backend func() []reactor.Option
}{
	{"native", "tcp", func() []reactor.Option { return nil }},
	{"gnet", "tcp", func() []reactor.Option { return []reactor.Option{reactor.WithBackend(gnetbackend.New())} }},
	{"native-tls", "tls", func() []reactor.Option { return nil }},
	{"gnet-tls", "tls", func() []reactor.Option { return []reactor.Option{reactor.WithBackend(gnetbackend.New())} }},
	{"uring", "tcp", func() []reactor.Option { return []reactor.Option{reactor.WithBackend(uringbackend.New())} }},
	{"uring-tls", "tls", func() []reactor.Option { return []reactor.Option{reactor.WithBackend(uringbackend.New())} }},
}

var (
	certOnce sync.Once
	certPair tls.Certificate
	certPool *x509.CertPool
)

func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		certPool = x509.NewCertPool()
		certPool.AddCert(cert)
		certPair = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return certPair, certPool
}

// recorder is a Handler that logs what it sees and answers as told.
type recorder struct {
	onOpen    func(c *Conn)
	onMessage func(c *Conn, op Opcode, data []byte)
	opened    chan *Conn
	closed    chan error
}

func newRecorder() *recorder {
	return &recorder{opened: make(chan *Conn, 64), closed: make(chan error, 64)}
}

func (r *recorder) OnOpen(c *Conn) {
	if r.onOpen != nil {
		r.onOpen(c)
	}
	r.opened <- c
}

func (r *recorder) OnMessage(c *Conn, op Opcode, data []byte) {
	if r.onMessage != nil {
		r.onMessage(c, op, data)
		return
	}
	c.WriteMessage(op, data) // echo
}

func (r *recorder) OnClose(c *Conn, err error) { r.closed <- err }

func (r *recorder) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.closed:
		return err
	case <-time.After(bound):
		t.Fatal("no OnClose")
		return nil
	}
}

// server is an engine serving WebSocket for a test.
type server struct {
	e      reactor.Engine
	addr   string
	tls    bool
	scheme string
}

func startServer(t *testing.T, scheme string, h Handler, o Options, opts ...reactor.Option) *server {
	t.Helper()
	if scheme == "tls" {
		cert, _ := testCert(t)
		opts = append(opts, reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}}))
	}
	opts = append(opts, reactor.WithLoops(2))
	e, err := reactor.Start(NewServer(h, o), []string{scheme + "://127.0.0.1:0"}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		e.Stop(ctx)
		<-e.Done()
	})
	return &server{e: e, addr: e.Addrs()[0].String(), tls: scheme == "tls", scheme: scheme}
}

// client is a raw WebSocket client for tests: it writes what it is told,
// byte for byte, and parses what the server sends.
type client struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	p    Parser
	buf  []byte
	resp string // the handshake's response head
}

func (s *server) dialRaw(t *testing.T) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: bound}
	var nc net.Conn
	var err error
	if s.tls {
		_, pool := testCert(t)
		nc, err = tls.DialWithDialer(&d, "tcp", s.addr, &tls.Config{RootCAs: pool})
	} else {
		nc, err = d.Dial("tcp", s.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(bound))
	t.Cleanup(func() { nc.Close() })
	return nc
}

const handshakeRequest = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"

// dial opens a WebSocket conn with extra header lines and wants a 101.
func (s *server) dial(t *testing.T, extra string) *client {
	t.Helper()
	c := s.dialStatus(t, extra)
	if !strings.HasPrefix(c.resp, "HTTP/1.1 101 ") || !strings.Contains(c.resp, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("handshake response:\n%s", c.resp)
	}
	return c
}

// dialStatus sends the handshake with extra header lines and reads the
// response head, whatever its status.
func (s *server) dialStatus(t *testing.T, extra string) *client {
	t.Helper()
	nc := s.dialRaw(t)
	c := &client{t: t, nc: nc, br: bufio.NewReader(nc)}
	c.write([]byte(handshakeRequest + extra + "\r\n"))
	var head strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the handshake response: %v (so far %q)", err, head.String())
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
	}
	c.resp = head.String()
	c.p.AllowRSV1 = strings.Contains(c.resp, "permessage-deflate")
	return c
}

func (c *client) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readFrame reads one whole frame from the server.
func (c *client) readFrame() (Header, []byte, error) {
	var payload []byte
	for {
		if len(c.buf) > 0 {
			ch, n, err := c.p.Parse(c.buf)
			if err != nil {
				return Header{}, nil, err
			}
			if n > 0 {
				payload = append(payload, ch.Payload...)
				c.buf = c.buf[n:]
				if ch.Last {
					return ch.Header, payload, nil
				}
				continue
			}
		}
		tmp := make([]byte, 64<<10)
		n, err := c.br.Read(tmp)
		if n == 0 && err != nil {
			return Header{}, nil, err
		}
		c.buf = append(c.buf, tmp[:n]...)
	}
}

// expect reads a frame and wants op and payload.
func (c *client) expect(op Opcode, payload string) {
	c.t.Helper()
	h, p, err := c.readFrame()
	if err != nil {
		c.t.Fatalf("want %v %q, got error %v", op, payload, err)
	}
	if h.Opcode != op || string(p) != payload {
		c.t.Fatalf("got %v %q, want %v %q", h.Opcode, trunc(p), op, trunc([]byte(payload)))
	}
	if h.Masked {
		c.t.Fatal("server frame masked")
	}
}

// expectClose reads frames up to a Close and wants its code, then EOF.
func (c *client) expectClose(code CloseCode) string {
	c.t.Helper()
	for {
		h, p, err := c.readFrame()
		if err != nil {
			c.t.Fatalf("want close %d, got error %v", code, err)
		}
		if h.Opcode != OpClose {
			continue
		}
		got, reason, err := ParseClosePayload(p)
		if err != nil || got != code {
			c.t.Fatalf("close %d %q (%v), want %d", got, reason, err, code)
		}
		c.expectEOF()
		return reason
	}
}

func (c *client) expectEOF() {
	c.t.Helper()
	for {
		_, _, err := c.readFrame()
		if err != nil {
			if !errors.Is(err, io.EOF) && !isReset(err) {
				c.t.Fatalf("want EOF, got %v", err)
			}
			c.nc.Close()
			return
		}
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func trunc(b []byte) string {
	if len(b) > 40 {
		return fmt.Sprintf("%q... (%d bytes)", b[:40], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func forTransports(t *testing.T, f func(t *testing.T, scheme string, opts []reactor.Option)) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { f(t, tr.scheme, tr.backend()) })
	}
}
