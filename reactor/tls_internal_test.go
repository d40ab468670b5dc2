package reactor

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
)

// These tests run the TLS layer on fake raw conns driven by the test
// goroutine, which plays the loop: no sockets, so the bytes the layer
// receives can be cut anywhere.

// fakeLoop queues tasks posted from any goroutine for the goroutine that
// plays the loop (fakePair.runUntil).
type fakeLoop struct{ tasks chan func() }

func newFakeLoop() *fakeLoop { return &fakeLoop{tasks: make(chan func(), 1024)} }

const tlsTestBound = 20 * time.Second

// fakeRaw is a raw conn.Conn on a fakeLoop: inbound bytes are put in by the
// test, outbound bytes are collected in out.
type fakeRaw struct {
	loop    *fakeLoop
	h       Handler
	in      []byte
	out     []byte
	inBuf   []byte // reused for in, so the harness allocates nothing per message
	spare   []byte // reused for out
	ctx     any
	closing bool
	closed  bool
	// nilWrites counts AsyncWrites of nothing run: a handshake
	// goroutine's last use of the raw conn is one.
	nilWrites int
}

func (f *fakeRaw) Read(p []byte) (int, error) {
	if len(f.in) == 0 {
		return 0, conn.ErrNoData
	}
	n := copy(p, f.in)
	f.in = f.in[n:]
	return n, nil
}

func (f *fakeRaw) Peek(n int) ([]byte, error) {
	if n < 0 || n >= len(f.in) {
		return f.in, nil
	}
	return f.in[:n], nil
}

func (f *fakeRaw) Next(n int) ([]byte, error) {
	b, _ := f.Peek(n)
	f.in = f.in[len(b):]
	return b, nil
}

func (f *fakeRaw) Discard(n int) (int, error) {
	b, _ := f.Next(n)
	return len(b), nil
}

func (f *fakeRaw) InboundBuffered() int { return len(f.in) }

func (f *fakeRaw) Write(p []byte) (int, error) {
	if f.closing {
		return 0, conn.ErrClosed
	}
	f.out = append(f.out, p...)
	return len(p), nil
}

func (f *fakeRaw) Writev(bufs [][]byte) (int, error) {
	n := 0
	for _, b := range bufs {
		m, err := f.Write(b)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (f *fakeRaw) OutboundBuffered() int                { return 0 }
func (f *fakeRaw) ShutdownWrite() error                 { return nil }
func (f *fakeRaw) SetIdleTimeout(d time.Duration) error { return nil }
func (f *fakeRaw) Context() any                         { return f.ctx }
func (f *fakeRaw) SetContext(v any)                     { f.ctx = v }
func (f *fakeRaw) LocalAddr() net.Addr                  { return &net.TCPAddr{} }
func (f *fakeRaw) RemoteAddr() net.Addr                 { return &net.TCPAddr{} }
func (f *fakeRaw) Fd() int                              { return -1 }

func (f *fakeRaw) AsyncWrite(p []byte, done conn.AsyncCallback) error {
	f.loop.tasks <- func() {
		if p == nil {
			f.nilWrites++
		}
		_, err := f.Write(p)
		if done != nil {
			done(f, err)
		}
	}
	return nil
}

func (f *fakeRaw) AsyncWritev(bufs [][]byte, done conn.AsyncCallback) error {
	return f.AsyncWrite(bytes.Join(bufs, nil), done)
}

func (f *fakeRaw) Wake() error {
	f.loop.tasks <- func() { f.act(f.h.OnTraffic(f)) }
	return nil
}

func (f *fakeRaw) Close() error {
	f.loop.tasks <- func() { f.act(Close) }
	return nil
}

// act carries out an Action as a loop would: Close is final here.
func (f *fakeRaw) act(a Action) {
	if a == Close && !f.closing {
		f.closing = true
	}
}

// deliver gives p to the raw conn as one read and calls OnTraffic.
func (f *fakeRaw) deliver(p []byte) {
	if f.closed || len(p) == 0 {
		return
	}
	if len(f.in) == 0 {
		f.in = f.inBuf[:0]
	}
	f.in = append(f.in, p...)
	f.inBuf = f.in[:0:cap(f.in)]
	f.act(f.h.OnTraffic(f))
}

// takeOut returns and clears what the raw conn wrote.
func (f *fakeRaw) takeOut() []byte {
	b := f.out
	f.out, f.spare = f.spare[:0], b
	return b
}

// collector is a next handler that keeps the plaintext it gets.
type collector struct {
	BaseHandler
	conn   conn.Conn
	got    []byte
	opened bool
	closed bool
	err    error
}

func (h *collector) OnOpen(c conn.Conn) Action {
	h.conn, h.opened = c, true
	return None
}

func (h *collector) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	h.got = append(h.got, b...)
	return None
}

func (h *collector) OnClose(c conn.Conn, err error) { h.closed, h.err = true, err }

// echoer echoes plaintext.
type echoer struct{ BaseHandler }

func (echoer) OnTraffic(c conn.Conn) Action {
	b, _ := c.Next(-1)
	c.Write(b)
	return None
}

var (
	internalCertOnce sync.Once
	internalCert     tls.Certificate
	internalPool     *x509.CertPool
)

// internalConfigs are a server and a client config sharing one self-signed
// certificate, made once per test binary.
func internalConfigs(t testing.TB) (server, client *tls.Config) {
	internalCertOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake.test"},
			DNSNames: []string{"fake.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		leaf, _ := x509.ParseCertificate(der)
		internalCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
		internalPool = x509.NewCertPool()
		internalPool.AddCert(leaf)
	})
	return &tls.Config{Certificates: []tls.Certificate{internalCert}},
		&tls.Config{RootCAs: internalPool, ServerName: "fake.test"}
}

// fakePair is a client layer and a server layer on two fake raw conns of
// one fake loop; pump moves bytes between them.
type fakePair struct {
	loop     *fakeLoop
	cli, srv *fakeRaw
	// split, when set, cuts each transfer into pieces of the sizes it
	// returns (each at least 1).
	split func() int
}

func newFakePair(t testing.TB, client, server Handler) *fakePair {
	srvCfg, cliCfg := internalConfigs(t)
	// No first-byte deadline: a test may build many pairs before it
	// drives any.
	o := TLSOptions{Logger: slog.New(slog.DiscardHandler), HandshakeFirstByteTimeout: -1}
	l := newFakeLoop()
	p := &fakePair{loop: l}
	p.cli = &fakeRaw{loop: l, h: NewTLSClient(client, cliCfg, "", o)}
	p.srv = &fakeRaw{loop: l, h: NewTLSServer(server, srvCfg, o)}
	p.cli.act(p.cli.h.OnOpen(p.cli))
	p.srv.act(p.srv.h.OnOpen(p.srv))
	return p
}

// pump moves what each side wrote to the other; it reports whether any
// bytes moved.
func (p *fakePair) pump() bool {
	moved := false
	for _, dir := range [2][2]*fakeRaw{{p.cli, p.srv}, {p.srv, p.cli}} {
		b := dir[0].takeOut()
		moved = moved || len(b) > 0
		for len(b) > 0 {
			n := len(b)
			if p.split != nil {
				n = min(max(p.split(), 1), len(b))
			}
			dir[1].deliver(b[:n])
			b = b[n:]
		}
	}
	return moved
}

// runUntil runs the loop's tasks and pumps until cond holds.
func (p *fakePair) runUntil(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(tlsTestBound)
	for !cond() {
		if p.pump() {
			continue
		}
		select {
		case task := <-p.loop.tasks:
			task()
		case <-time.After(time.Until(deadline)):
			t.Fatal("fake pair: timed out")
		}
	}
}

// TestTLSWouldBlockIsNotCached feeds one record a byte at a time: every
// byte but the last makes crypto/tls's read end on the transport's
// temporary would-block error, and the conn must go on reading.
func TestTLSWouldBlockIsNotCached(t *testing.T) {
	cli, srv := &collector{}, &collector{}
	p := newFakePair(t, cli, srv)
	p.runUntil(t, func() bool { return cli.opened && srv.opened })
	p.pump()
	cli.conn.Write([]byte("hello, record"))
	record := p.cli.takeOut()
	require.Greater(t, len(record), 5)
	for i, b := range record {
		p.srv.deliver([]byte{b})
		if i < len(record)-1 {
			require.Empty(t, srv.got, "plaintext before the record was whole")
		}
	}
	require.Equal(t, "hello, record", string(srv.got))
	require.False(t, srv.closed)
	// And on: a second record still decrypts.
	cli.conn.Write([]byte("again"))
	p.pump()
	require.Equal(t, "hello, recordagain", string(srv.got))
}

// TestTLSHandshakeLeftoverCarriesOver: records that arrive with the end
// of the handshake, or after the handshake goroutine is done but before the
// loop has switched the conn over, are read after it.
func TestTLSHandshakeLeftoverCarriesOver(t *testing.T) {
	for _, sameRead := range []bool{true, false} {
		cli, srv := &collector{}, &collector{}
		p := newFakePair(t, cli, srv)
		// Run until the client is open, holding back its second flight
		// (its Finished): TLS 1.3 clients send two.
		var held []byte
		helloSent := false
		for !cli.opened {
			held = append(held, p.cli.takeOut()...)
			if b := p.srv.takeOut(); len(b) > 0 {
				p.cli.deliver(b)
				continue
			}
			if len(held) > 0 && !helloSent {
				p.srv.deliver(held)
				held, helloSent = nil, true
				continue
			}
			select {
			case task := <-p.loop.tasks:
				task()
			case <-time.After(tlsTestBound):
				t.Fatal("timed out")
			}
		}
		held = append(held, p.cli.takeOut()...)
		// Several records: more than crypto/tls reads ahead.
		after := bytes.Repeat([]byte("data after Finished "), 2000)
		cli.conn.Write(after)
		record := p.cli.takeOut()
		if sameRead {
			p.srv.deliver(append(held, record...)) // Finished and a record in one read
		} else {
			p.srv.deliver(held)
			// The goroutine finishes; the loop has not heard yet.
			sc := p.srv.ctx.(*tlsConn)
			deadline := time.Now().Add(tlsTestBound)
			for done, _ := sc.handshakeResult(); !done; done, _ = sc.handshakeResult() {
				require.True(t, time.Now().Before(deadline))
				time.Sleep(time.Millisecond)
			}
			p.srv.deliver(record)
			require.Equal(t, tlsOpen, sc.state(), "the record switched the conn over")
		}
		p.runUntil(t, func() bool { return len(srv.got) >= len(after) })
		require.Equal(t, after, srv.got)
	}
}

// TestTLSSmallFeedRefills: with room for only a few bytes in the feed,
// the handshake goroutine asks the loop for more as it reads, and what was
// left in the raw conn is read once the conn is open.
func TestTLSSmallFeedRefills(t *testing.T) {
	defer func(old int) { maxHandshakeFeed = old }(maxHandshakeFeed)
	maxHandshakeFeed = 100
	cli, srv := &collector{}, &collector{}
	p := newFakePair(t, cli, srv)
	p.runUntil(t, func() bool { return cli.opened })
	after := bytes.Repeat([]byte("refill "), 10000)
	cli.conn.Write(after)
	p.runUntil(t, func() bool { return len(srv.got) >= len(after) })
	require.Equal(t, after, srv.got)
	require.False(t, srv.closed)
}

// FuzzTLSFeedSplits sends plaintext through a client layer and a server
// layer and cuts the ciphertext between them at the places the fuzzer
// chooses: whatever the cuts, the server must see the same plaintext.
func FuzzTLSFeedSplits(f *testing.F) {
	f.Add([]byte{1}, []byte("hello"))
	f.Add([]byte{5, 1, 200, 3}, bytes.Repeat([]byte("x"), 40000))
	f.Add([]byte{0, 17, 255, 2, 90}, []byte("abc\x00def"))
	f.Fuzz(func(t *testing.T, cuts []byte, plain []byte) {
		if len(cuts) == 0 || len(plain) == 0 || len(plain) > 32<<10 {
			return
		}
		cli, srv := &collector{}, &collector{}
		p := newFakePair(t, cli, srv)
		i := 0
		p.split = func() int {
			n := int(cuts[i%len(cuts)])
			i++
			if n == 0 {
				n = 16 << 10 // 0: a big piece
			}
			return n
		}
		p.runUntil(t, func() bool { return cli.opened && srv.opened })
		// Several writes, so records of several sizes go by.
		for rest := plain; len(rest) > 0; {
			n := min(len(rest), 1+int(cuts[len(rest)%len(cuts)])*97)
			cli.conn.Write(rest[:n])
			rest = rest[n:]
		}
		p.runUntil(t, func() bool { return len(srv.got) >= len(plain) || srv.closed })
		require.Equal(t, plain, srv.got)
		require.False(t, srv.closed, "closed with %v", srv.err)
	})
}

// TestTLSRecordFramer cuts a stream of records anywhere: the framer never
// lets a read cross the end of a record, and is at a boundary exactly
// between records.
func TestTLSRecordFramer(t *testing.T) {
	var stream []byte
	var ends []int
	for _, n := range []int{0, 1, 300, 16640, 5, 70} {
		stream = append(stream, 23, 3, 3, byte(n>>8), byte(n))
		stream = append(stream, bytes.Repeat([]byte{7}, n)...)
		ends = append(ends, len(stream))
	}
	isEnd := map[int]bool{0: true}
	for _, e := range ends {
		isEnd[e] = true
	}
	for _, cut := range []int{1, 2, 3, 4, 5, 6, 7, 511, 4096, 1 << 20} {
		var f recordFramer
		p := make([]byte, cut)
		for off := 0; off < len(stream); {
			avail := stream[off:min(off+cut+3, len(stream))] // what has arrived
			n := f.take(p, avail)
			require.Positive(t, n)
			for i := off + 1; i < off+n; i++ {
				require.False(t, isEnd[i] && i != off+n, "a read of %d at %d crossed a record end at %d", n, off, i)
			}
			off += n
			require.Equal(t, isEnd[off], f.boundary(), "at %d", off)
		}
	}
}
