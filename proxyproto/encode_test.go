package proxyproto

import (
	"bytes"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeSpecSamples(t *testing.T) {
	h := &Header{Command: Proxy, Source: tcp("192.168.0.1:56324"), Destination: tcp("192.168.0.11:443")}
	v1, err := h.AppendV1(nil)
	if err != nil || string(v1) != "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" {
		t.Errorf("AppendV1 = %q, %v", v1, err)
	}
	v2b, err := h.AppendV2(nil)
	if err != nil || !bytes.Equal(v2b, v2(0x21, 0x11, tcp4Block)) {
		t.Errorf("AppendV2 = %x, %v", v2b, err)
	}
	local := &Header{Command: Local}
	if b, _ := local.AppendV1(nil); string(b) != "PROXY UNKNOWN\r\n" {
		t.Errorf("LOCAL AppendV1 = %q", b)
	}
	if b, _ := local.AppendV2(nil); !bytes.Equal(b, v2(0x20, 0x00)) {
		t.Errorf("LOCAL AppendV2 = %x", b)
	}
	// Addresses of other families than TCP are UNKNOWN in version 1.
	unix := &Header{Command: Proxy, Source: &net.UnixAddr{Name: "/a", Net: "unix"}, Destination: &net.UnixAddr{Name: "/b", Net: "unix"}}
	if b, _ := unix.AppendV1(nil); string(b) != "PROXY UNKNOWN\r\n" {
		t.Errorf("UNIX AppendV1 = %q", b)
	}
	// Appending keeps what b held.
	if b, _ := h.AppendV1([]byte("x")); !bytes.HasPrefix(b, []byte("xPROXY ")) {
		t.Errorf("AppendV1 onto a prefix = %q", b)
	}
}

func TestEncodeDerivesFamily(t *testing.T) {
	cases := []struct {
		src, dst net.Addr
		v1       string
		fam      Family
		tr       Transport
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}, &net.TCPAddr{IP: net.ParseIP("10.0.0.2"), Port: 2},
			"PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n", IPv4, Stream},
		{tcp("10.0.0.1:1"), tcp("[::1]:2"), "PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n", IPv6, Stream},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, tcp("[::1]:2"), "PROXY TCP6 fe80::1 ::1 1 2\r\n", IPv6, Stream},
		{&net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}, &net.UDPAddr{IP: net.ParseIP("10.0.0.2"), Port: 2},
			"PROXY UNKNOWN\r\n", IPv4, Datagram},
		{&net.UnixAddr{Name: "@x", Net: "unixgram"}, &net.UnixAddr{Name: "y", Net: "unixgram"}, "PROXY UNKNOWN\r\n", Unix, Datagram},
	}
	for _, c := range cases {
		h := &Header{Command: Proxy, Source: c.src, Destination: c.dst}
		b, err := h.AppendV1(nil)
		if err != nil || string(b) != c.v1 {
			t.Errorf("%v -> %v: AppendV1 = %q, %v; want %q", c.src, c.dst, b, err, c.v1)
		}
		b, err = h.AppendV2(nil)
		if err != nil {
			t.Fatalf("AppendV2: %v", err)
		}
		got, _, err := Parse(b)
		if err != nil || got.Family != c.fam || got.Transport != c.tr || strings.Replace(got.Source.String(), "fe80::1", "fe80::1%eth0", 1) != c.src.String() {
			t.Errorf("%v -> %v: AppendV2 parses to %+v, %v", c.src, c.dst, got, err)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		h    Header
		v1   bool
	}{
		{"IPv6 in an IPv4 header", Header{Command: Proxy, Family: IPv4, Transport: Stream, Source: tcp("[::1]:1"), Destination: tcp("[::1]:2")}, true},
		{"TCP4 without addresses v1", Header{Command: Proxy, Family: IPv4, Transport: Stream}, true},
		{"TCP4 without addresses v2", Header{Command: Proxy, Family: IPv4, Transport: Stream}, false},
		{"unix path too long", Header{Command: Proxy, Source: &net.UnixAddr{Name: strings.Repeat("a", 109), Net: "unix"}, Destination: &net.UnixAddr{Name: "b", Net: "unix"}}, false},
		{"unix path with NUL", Header{Command: Proxy, Source: &net.UnixAddr{Name: "a\x00b", Net: "unix"}, Destination: &net.UnixAddr{Name: "b", Net: "unix"}}, false},
		{"TLV too long", Header{Command: Local, TLVs: []TLV{{0xe0, make([]byte, 70000)}}}, false},
		{"TLVs too long together", Header{Command: Local, TLVs: []TLV{{0xe0, make([]byte, 40000)}, {0xe1, make([]byte, 40000)}}}, false},
		{"bad command", Header{Command: 5}, false},
		{"bad family", Header{Command: Proxy, Family: 7, Transport: Stream}, false},
	}
	for _, c := range cases {
		var err error
		var b []byte
		if c.v1 {
			b, err = c.h.AppendV1([]byte("keep"))
		} else {
			b, err = c.h.AppendV2([]byte("keep"))
		}
		if !errors.Is(err, ErrUnencodable) {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if string(b) != "keep" {
			t.Errorf("%s: b = %q after an error", c.name, b)
		}
	}
}

// roundTripHeaders are headers to encode, each as parsing must give it back.
func roundTripHeaders() []Header {
	ssl := AppendSSL(nil, SSLInfo{Client: ClientSSL | ClientCertConn, TLVs: []TLV{
		{SubtypeSSLVersion, []byte("TLSv1.3")}, {SubtypeSSLCN, []byte("c")}}})
	return []Header{
		{Command: Proxy, Family: IPv4, Transport: Stream, Source: tcp("1.2.3.4:5"), Destination: tcp("6.7.8.9:65535")},
		{Command: Proxy, Family: IPv6, Transport: Stream, Source: tcp("[2001:db8::1]:0"), Destination: tcp("[::ffff:1.2.3.4]:80")},
		{Command: Proxy, Family: IPv4, Transport: Datagram, Source: &net.UDPAddr{IP: net.IP{1, 2, 3, 4}, Port: 53}, Destination: &net.UDPAddr{IP: net.IP{5, 6, 7, 8}, Port: 53}},
		{Command: Proxy, Family: Unix, Transport: Stream, Source: &net.UnixAddr{Name: strings.Repeat("s", 108), Net: "unix"}, Destination: &net.UnixAddr{Name: "", Net: "unix"}},
		{Command: Proxy},
		{Command: Local},
		{Command: Local, Family: IPv6, Transport: Stream, TLVs: []TLV{{TypeNoop, []byte{}}}},
		{Command: Proxy, Family: IPv4, Transport: Stream, Source: tcp("1.2.3.4:5"), Destination: tcp("6.7.8.9:10"),
			TLVs: []TLV{{TypeALPN, []byte("h2")}, {TypeAuthority, []byte("example.com")}, {TypeUniqueID, bytes.Repeat([]byte{7}, 128)},
				{TypeSSL, ssl}, {TypeCRC32C, nil}, {0xee, []byte("custom")}}},
	}
}

// TestRoundTripEverySplit encodes headers in both versions, and parses each
// cut at every point: ErrNeedMore before its last byte, the header at it.
func TestRoundTripEverySplit(t *testing.T) {
	for _, want := range roundTripHeaders() {
		for _, version := range []int{1, 2} {
			var b []byte
			var err error
			exp := want
			exp.Version = version
			if version == 1 {
				b, err = want.AppendV1(nil)
				exp.TLVs = nil
				if want.Transport != Stream || want.Family > IPv6 || want.Command == Local {
					exp = Header{Version: 1, Command: Proxy}
				}
			} else {
				b, err = want.AppendV2(nil)
			}
			if err != nil {
				t.Fatalf("encode v%d %+v: %v", version, want, err)
			}
			for i := range len(b) {
				if _, _, err := Parse(b[:i]); err != ErrNeedMore {
					t.Fatalf("v%d %q cut at %d: %v", version, b, i, err)
				}
			}
			data := append(b, "data"...)
			got, n, err := Parse(data)
			if err != nil || n != len(b) {
				t.Fatalf("v%d %q: n = %d, err = %v", version, b, n, err)
			}
			if crc, ok := got.TLV(TypeCRC32C); ok {
				if len(crc) != 4 {
					t.Fatalf("CRC32C TLV = %x", crc)
				}
				for i := range exp.TLVs {
					if exp.TLVs[i].Type == TypeCRC32C {
						exp.TLVs = append([]TLV(nil), exp.TLVs...)
						exp.TLVs[i].Value = crc
					}
				}
			}
			if !reflect.DeepEqual(*got, exp) {
				t.Fatalf("v%d round trip\n got %+v\nwant %+v", version, *got, exp)
			}
		}
	}
}

func TestEncodeAllocations(t *testing.T) {
	h := &Header{Command: Proxy, Source: tcp("1.2.3.4:5"), Destination: tcp("[::1]:10")}
	buf := make([]byte, 0, 256)
	if a := testing.AllocsPerRun(100, func() { _, _ = h.AppendV2(buf[:0]) }); a != 0 {
		t.Errorf("AppendV2 allocates %v times", a)
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = h.AppendV1(buf[:0]) }); a != 0 {
		t.Errorf("AppendV1 allocates %v times", a)
	}
}
