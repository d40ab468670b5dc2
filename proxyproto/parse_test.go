package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"reflect"
	"strings"
	"testing"
)

// v2 builds a version 2 header by hand, independently of the encoder.
func v2(verCmd, famTr byte, body ...[]byte) []byte {
	b := append([]byte(nil), "\r\n\r\n\x00\r\nQUIT\n"...)
	b = append(b, verCmd, famTr, 0, 0)
	for _, p := range body {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[14:], uint16(len(b)-16))
	return b
}

func tlv(t byte, v string) []byte {
	b := []byte{t, 0, 0}
	binary.BigEndian.PutUint16(b[1:], uint16(len(v)))
	return append(b, v...)
}

func tcp(s string) *net.TCPAddr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	if v4 := a.IP.To4(); v4 != nil && !strings.Contains(s, "::") {
		a.IP = v4
	}
	return a
}

var (
	tcp4Block = []byte{192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb}
	tcp6Src   = net.ParseIP("2001:db8::1")
	tcp6Dst   = net.ParseIP("2001:db8::2:ffff")
)

func tcp6Block() []byte {
	b := append(append([]byte(nil), tcp6Src...), tcp6Dst...)
	return append(b, 0x30, 0x39, 0x00, 0x50) // 12345, 80
}

func unixBlock(src, dst string) []byte {
	b := make([]byte, 216)
	copy(b, src)
	copy(b[108:], dst)
	return b
}

// specSamples are the headers of the specification, for every family and
// command, each with the header it must parse to.
var specSamples = []struct {
	name string
	in   []byte
	want Header
}{
	{"v1 TCP4 example", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
		Header{Version: 1, Command: Proxy, Family: IPv4, Transport: Stream,
			Source: tcp("192.168.0.1:56324"), Destination: tcp("192.168.0.11:443")}},
	{"v1 TCP4 longest", []byte("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
		Header{Version: 1, Command: Proxy, Family: IPv4, Transport: Stream,
			Source: tcp("255.255.255.255:65535"), Destination: tcp("255.255.255.255:65535")}},
	{"v1 TCP6 longest", []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n"),
		Header{Version: 1, Command: Proxy, Family: IPv6, Transport: Stream,
			Source:      tcp("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
			Destination: tcp("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")}},
	{"v1 TCP6 compressed", []byte("PROXY TCP6 2001:db8::1 ::1 0 1\r\n"),
		Header{Version: 1, Command: Proxy, Family: IPv6, Transport: Stream,
			Source: tcp("[2001:db8::1]:0"), Destination: tcp("[::1]:1")}},
	{"v1 UNKNOWN short", []byte("PROXY UNKNOWN\r\n"),
		Header{Version: 1, Command: Proxy}},
	{"v1 UNKNOWN worst case 107 bytes", []byte("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
		Header{Version: 1, Command: Proxy}},
	{"v2 TCP4", v2(0x21, 0x11, tcp4Block),
		Header{Version: 2, Command: Proxy, Family: IPv4, Transport: Stream,
			Source: tcp("192.168.0.1:56324"), Destination: tcp("192.168.0.11:443")}},
	{"v2 UDP4", v2(0x21, 0x12, tcp4Block),
		Header{Version: 2, Command: Proxy, Family: IPv4, Transport: Datagram,
			Source:      &net.UDPAddr{IP: net.IP{192, 168, 0, 1}, Port: 56324},
			Destination: &net.UDPAddr{IP: net.IP{192, 168, 0, 11}, Port: 443}}},
	{"v2 TCP6", v2(0x21, 0x21, tcp6Block()),
		Header{Version: 2, Command: Proxy, Family: IPv6, Transport: Stream,
			Source: tcp("[2001:db8::1]:12345"), Destination: tcp("[2001:db8::2:ffff]:80")}},
	{"v2 UDP6", v2(0x21, 0x22, tcp6Block()),
		Header{Version: 2, Command: Proxy, Family: IPv6, Transport: Datagram,
			Source:      &net.UDPAddr{IP: tcp6Src, Port: 12345},
			Destination: &net.UDPAddr{IP: tcp6Dst, Port: 80}}},
	{"v2 UNIX stream", v2(0x21, 0x31, unixBlock("/run/client.sock", "/run/server.sock")),
		Header{Version: 2, Command: Proxy, Family: Unix, Transport: Stream,
			Source:      &net.UnixAddr{Name: "/run/client.sock", Net: "unix"},
			Destination: &net.UnixAddr{Name: "/run/server.sock", Net: "unix"}}},
	{"v2 UNIX datagram", v2(0x21, 0x32, unixBlock("a", "b")),
		Header{Version: 2, Command: Proxy, Family: Unix, Transport: Datagram,
			Source:      &net.UnixAddr{Name: "a", Net: "unixgram"},
			Destination: &net.UnixAddr{Name: "b", Net: "unixgram"}}},
	{"v2 LOCAL", v2(0x20, 0x00),
		Header{Version: 2, Command: Local}},
	{"v2 LOCAL with addresses ignored", v2(0x20, 0x11, tcp4Block),
		Header{Version: 2, Command: Local, Family: IPv4, Transport: Stream}},
	{"v2 LOCAL with a short block", v2(0x20, 0x11, []byte{1, 2, 3}),
		Header{Version: 2, Command: Local, Family: IPv4, Transport: Stream}},
	{"v2 PROXY UNSPEC", v2(0x21, 0x00),
		Header{Version: 2, Command: Proxy}},
	{"v2 PROXY UNSPEC with opaque address bytes", v2(0x21, 0x00, []byte{0xff, 0xff, 0xff, 0xff}),
		Header{Version: 2, Command: Proxy}},
	{"v2 PROXY INET with unspecified transport", v2(0x21, 0x10, []byte{1, 2, 3}),
		Header{Version: 2, Command: Proxy, Family: IPv4}},
	{"v2 TLVs", v2(0x21, 0x11, tcp4Block,
		tlv(0x01, "h2"), tlv(0x02, "example.com"), tlv(0x04, ""), tlv(0x05, "id-42"),
		tlv(0x20, "\x07\x00\x00\x00\x00"+string(tlv(0x21, "TLSv1.3"))+string(tlv(0x22, "client.example"))+
			string(tlv(0x23, "TLS_AES_128_GCM_SHA256"))+string(tlv(0x24, "RSA-SHA256"))+string(tlv(0x25, "RSA2048"))),
		tlv(0x30, "blue"), tlv(0xe3, "custom")),
		Header{Version: 2, Command: Proxy, Family: IPv4, Transport: Stream,
			Source: tcp("192.168.0.1:56324"), Destination: tcp("192.168.0.11:443"),
			TLVs: []TLV{
				{TypeALPN, []byte("h2")}, {TypeAuthority, []byte("example.com")}, {TypeNoop, []byte{}},
				{TypeUniqueID, []byte("id-42")},
				{TypeSSL, []byte("\x07\x00\x00\x00\x00" + string(tlv(0x21, "TLSv1.3")) + string(tlv(0x22, "client.example")) +
					string(tlv(0x23, "TLS_AES_128_GCM_SHA256")) + string(tlv(0x24, "RSA-SHA256")) + string(tlv(0x25, "RSA2048")))},
				{TypeNetNS, []byte("blue")}, {0xe3, []byte("custom")},
			}}},
	{"v2 LOCAL with TLVs", v2(0x20, 0x00, tlv(0x05, "health")),
		Header{Version: 2, Command: Local, TLVs: []TLV{{TypeUniqueID, []byte("health")}}}},
}

func TestParseSpecSamples(t *testing.T) {
	data := []byte("GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n")
	for _, s := range specSamples {
		t.Run(s.name, func(t *testing.T) {
			in := append(append([]byte(nil), s.in...), data...)
			h, n, err := Parse(in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if n != len(s.in) {
				t.Fatalf("n = %d, want %d", n, len(s.in))
			}
			if !reflect.DeepEqual(*h, s.want) {
				t.Fatalf("header\n got %+v\nwant %+v", *h, s.want)
			}
			// Every proper prefix is a valid beginning.
			for i := range len(s.in) {
				if _, _, err := Parse(s.in[:i]); err != ErrNeedMore {
					t.Fatalf("Parse(first %d bytes) = %v, want ErrNeedMore", i, err)
				}
			}
			// The header does not alias its input.
			for i := range in {
				in[i] = 0
			}
			if !reflect.DeepEqual(*h, s.want) {
				t.Fatal("header changed with its input")
			}
		})
	}
}

func TestTLVAccessors(t *testing.T) {
	var h *Header
	for _, s := range specSamples {
		if s.name == "v2 TLVs" {
			h, _, _ = Parse(s.in)
		}
	}
	if got := string(h.ALPN()); got != "h2" {
		t.Errorf("ALPN = %q", got)
	}
	if got := h.Authority(); got != "example.com" {
		t.Errorf("Authority = %q", got)
	}
	if got := string(h.UniqueID()); got != "id-42" {
		t.Errorf("UniqueID = %q", got)
	}
	if got := h.NetNS(); got != "blue" {
		t.Errorf("NetNS = %q", got)
	}
	if v, ok := h.TLV(0xe3); !ok || string(v) != "custom" {
		t.Errorf("TLV(0xe3) = %q, %v", v, ok)
	}
	if _, ok := h.TLV(0xe4); ok {
		t.Error("TLV(0xe4) found")
	}
	ssl, ok := h.SSL()
	if !ok {
		t.Fatal("no SSL TLV")
	}
	if !ssl.TLS() || !ssl.Verified() || ssl.Version() != "TLSv1.3" || ssl.CN() != "client.example" ||
		ssl.Cipher() != "TLS_AES_128_GCM_SHA256" || ssl.SigAlg() != "RSA-SHA256" || ssl.KeyAlg() != "RSA2048" {
		t.Errorf("SSL = %+v", ssl)
	}
	var none Header
	if none.ALPN() != nil || none.Authority() != "" || none.UniqueID() != nil {
		t.Error("accessors of a header without TLVs return values")
	}
	if _, ok := none.SSL(); ok {
		t.Error("SSL found in a header without TLVs")
	}
	unverified, _, err := Parse(v2(0x21, 0x00, tlv(0x20, "\x03\x00\x00\x00\x01")))
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := unverified.SSL(); !ok || !s.TLS() || s.Verified() {
		t.Errorf("unverified SSL = %+v, %v", s, ok)
	}
}

// withCRC builds a TCP4 header with a CRC32C TLV computed by hand.
func withCRC(corrupt bool) []byte {
	b := v2(0x21, 0x11, tcp4Block, tlv(0x01, "h2"), tlv(0x03, "\x00\x00\x00\x00"))
	crc := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	if corrupt {
		crc++
	}
	binary.BigEndian.PutUint32(b[len(b)-4:], crc)
	return b
}

func TestChecksum(t *testing.T) {
	h, _, err := Parse(withCRC(false))
	if err != nil {
		t.Fatalf("good checksum: %v", err)
	}
	if v, ok := h.TLV(TypeCRC32C); !ok || len(v) != 4 {
		t.Fatalf("CRC32C TLV = %x, %v", v, ok)
	}
	if _, _, err := Parse(withCRC(true)); !errors.Is(err, ErrBadChecksum) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad checksum: %v", err)
	}
	p := Parser{IgnoreChecksum: true}
	if _, _, err := p.Parse(withCRC(true)); err != nil {
		t.Fatalf("bad checksum ignored: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	long := "PROXY UNKNOWN " + strings.Repeat("f", 200) + "\r\n"
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), ErrNoSignature},
		{"TLS client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00}, ErrNoSignature},
		{"SSH", []byte("SSH-2.0-OpenSSH_9.6\r\n"), ErrNoSignature},
		{"PROXY without space", []byte("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ErrNoSignature},
		{"lowercase proxy", []byte("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), ErrNoSignature},
		{"v2 signature broken", []byte("\r\n\r\n\x00\r\nQUIT\r"), ErrNoSignature},
		{"v1 LF alone", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), ErrBadCRLF},
		{"v1 CR alone", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), ErrBadCRLF},
		{"v1 no CRLF in 107 bytes", []byte(long), ErrTooLong},
		{"v1 CRLF at 107-108", []byte("PROXY UNKNOWN " + strings.Repeat("f", 92) + "\r\n"), ErrTooLong},
		{"v1 TCP5", []byte("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), ErrUnknownFamily},
		{"v1 UDP4", []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), ErrUnknownFamily},
		{"v1 UNKNOWNX", []byte("PROXY UNKNOWNX\r\n"), ErrUnknownFamily},
		{"v1 empty protocol", []byte("PROXY \r\n"), ErrUnknownFamily},
		{"v1 IPv6 in TCP4", []byte("PROXY TCP4 ::1 ::1 1 2\r\n"), ErrBadAddress},
		{"v1 IPv4 in TCP6", []byte("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n"), ErrBadAddress},
		{"v1 leading zero octet", []byte("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), ErrBadAddress},
		{"v1 host name", []byte("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), ErrBadAddress},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), ErrBadAddress},
		{"v1 port leading zero", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), ErrBadPort},
		{"v1 port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), ErrBadPort},
		{"v1 port sign", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), ErrBadPort},
		{"v1 port extra field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), ErrBadPort},
		{"v1 double space", []byte("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n"), ErrMalformed},
		{"v1 trailing space", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), ErrBadPort},
		{"v1 missing field", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), ErrMalformed},
		{"v1 NUL", []byte("PROXY TCP4 1.2.3.4\x00"), ErrMalformed},
		{"v2 version 1", v2(0x11, 0x11, tcp4Block), ErrBadVersion},
		{"v2 version 3 early", []byte("\r\n\r\n\x00\r\nQUIT\n\x31"), ErrBadVersion},
		{"v2 command 2", v2(0x22, 0x11, tcp4Block), ErrBadCommand},
		{"v2 family 4", v2(0x21, 0x41, tcp4Block), ErrUnknownFamily},
		{"v2 transport 3 early", []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x13"), ErrUnknownFamily},
		{"v2 TCP4 short block", v2(0x21, 0x11, tcp4Block[:11]), ErrTruncated},
		{"v2 TCP6 short block", v2(0x21, 0x21, tcp4Block), ErrTruncated},
		{"v2 UNIX short block", v2(0x21, 0x31, make([]byte, 215)), ErrTruncated},
		{"v2 TLV header cut", v2(0x21, 0x11, tcp4Block, []byte{0x01, 0x00}), ErrTruncated},
		{"v2 TLV value cut", v2(0x21, 0x11, tcp4Block, []byte{0x01, 0x00, 0x05, 'h', '2'}), ErrTruncated},
		{"v2 unique ID too long", v2(0x21, 0x11, tcp4Block, tlv(0x05, strings.Repeat("x", 129))), ErrBadTLV},
		{"v2 CRC of 3 bytes", v2(0x21, 0x11, tcp4Block, tlv(0x03, "abc")), ErrBadTLV},
		{"v2 SSL too short", v2(0x21, 0x11, tcp4Block, tlv(0x20, "\x01\x00")), ErrBadTLV},
		{"v2 SSL sub-TLV cut", v2(0x21, 0x11, tcp4Block, tlv(0x20, "\x01\x00\x00\x00\x00\x21\x00\x09TLS")), ErrBadTLV},
		{"v2 length past the bound", v2(0x21, 0x11, tcp4Block, tlv(0xe0, strings.Repeat("x", 4096))), ErrTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, n, err := Parse(c.in)
			if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %+v, %d, %v; want %v", h, n, err, c.want)
			}
			if h != nil || n != 0 {
				t.Fatalf("Parse returned a header with an error: %+v, %d", h, n)
			}
			if err.Error() == "" || !strings.HasPrefix(err.Error(), "proxyproto: ") {
				t.Fatalf("error text %q", err)
			}
		})
	}
}

// TestDetectsEarly checks that what cannot be a header is known from the
// first byte that rules it out, and that a header's beginning is not.
func TestDetectsEarly(t *testing.T) {
	for _, in := range []string{"G", "\x16", "\x00", "PROX\x00", "P\r", "\r\n\r\n\x00\r\nQUIT\r", "\r\r"} {
		if _, _, err := Parse([]byte(in)); !errors.Is(err, ErrNoSignature) {
			t.Errorf("Parse(%q) = %v, want ErrNoSignature", in, err)
		}
	}
	for _, in := range []string{"", "P", "PROXY", "PROXY ", "PROXY TCP4 1.2", "\r", "\r\n\r\n\x00\r\nQUIT", "\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00"} {
		if _, _, err := Parse([]byte(in)); err != ErrNeedMore {
			t.Errorf("Parse(%q) = %v, want ErrNeedMore", in, err)
		}
	}
	// The length bound is applied as soon as the length field is in.
	big := v2(0x21, 0x11, tcp4Block, tlv(0xe0, strings.Repeat("x", 5000)))
	if _, _, err := Parse(big[:16]); !errors.Is(err, ErrTooLong) {
		t.Errorf("Parse(fixed part of an oversized header) = %v", err)
	}
	p := Parser{MaxV2Length: 8192}
	if _, n, err := p.Parse(big); err != nil || n != len(big) {
		t.Errorf("Parse with a larger bound = %d, %v", n, err)
	}
}

func TestNoSignatureIsCheap(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\n")
	if a := testing.AllocsPerRun(100, func() { _, _, _ = Parse(in) }); a != 0 {
		t.Errorf("Parse of plain data allocates %v times", a)
	}
	if !bytes.Equal(sigV2, []byte{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A}) {
		t.Error("version 2 signature differs from the specification")
	}
}
