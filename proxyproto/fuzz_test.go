package proxyproto

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, stays within its bounds, is consistent
// across cuts of its input, and what it accepts encodes back to the same
// header.
func FuzzParse(f *testing.F) {
	for _, s := range specSamples {
		f.Add(s.in)
	}
	f.Add(withCRC(false))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, n, err := Parse(in)
		if err != nil {
			if h != nil || n != 0 {
				t.Fatalf("header with an error: %+v, %d, %v", h, n, err)
			}
			if err != ErrNeedMore && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is neither ErrNeedMore nor ErrInvalid", err)
			}
			if err == ErrNeedMore && len(in) > V2HeaderLength+DefaultMaxV2Length {
				t.Fatalf("needs more after %d bytes", len(in))
			}
			return
		}
		switch {
		case n <= 0 || n > len(in):
			t.Fatalf("n = %d of %d", n, len(in))
		case h.Version == 1 && n > MaxV1Length:
			t.Fatalf("version 1 header of %d bytes", n)
		case h.Version == 2 && n > V2HeaderLength+DefaultMaxV2Length:
			t.Fatalf("version 2 header of %d bytes", n)
		}
		// The same header, whatever follows it; nothing before its end.
		if h2, n2, err := Parse(in[:n]); err != nil || n2 != n || !reflect.DeepEqual(h, h2) {
			t.Fatalf("header alone: %+v, %d, %v", h2, n2, err)
		}
		if _, _, err := Parse(in[:n-1]); err != ErrNeedMore {
			t.Fatalf("header less one byte: %v", err)
		}
		var enc []byte
		if h.Version == 1 {
			enc, err = h.AppendV1(nil)
		} else {
			enc, err = h.AppendV2(nil)
		}
		if err != nil {
			t.Fatalf("encode %+v: %v", h, err)
		}
		back, m, err := Parse(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("parse of encoded %q: %d, %v", enc, m, err)
		}
		if !reflect.DeepEqual(withoutCRC(h), withoutCRC(back)) {
			t.Fatalf("round trip\n got %+v\nwant %+v", back, h)
		}
	})
}

// withoutCRC blanks a CRC32C value: a LOCAL header re-encoded with zero
// addresses has another checksum.
func withoutCRC(h *Header) Header {
	c := *h
	c.TLVs = append([]TLV(nil), h.TLVs...)
	for i := range c.TLVs {
		if c.TLVs[i].Type == TypeCRC32C {
			c.TLVs[i].Value = nil
		}
	}
	return c
}

// FuzzRoundTrip: any header the encoder accepts parses back to itself, at
// every cut.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(2), uint8(1), []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, uint16(1), uint16(2), false, uint8(1), []byte("h2"), true)
	f.Add(uint8(1), uint8(1), make([]byte, 16), []byte{5, 6, 7, 8}, uint16(0), uint16(65535), false, uint8(0), []byte(nil), false)
	f.Add(uint8(2), uint8(0), []byte(nil), []byte(nil), uint16(0), uint16(0), true, uint8(5), []byte("id"), true)
	f.Fuzz(func(t *testing.T, version, cmd uint8, sip, dip []byte, sport, dport uint16, datagram bool, tlvType uint8, tlvValue []byte, crc bool) {
		h := Header{Command: Command(cmd & 1)}
		sa, sok := netip.AddrFromSlice(sip)
		da, dok := netip.AddrFromSlice(dip)
		if sok && dok {
			s, d := netip.AddrPortFrom(sa, sport), netip.AddrPortFrom(da, dport)
			if datagram {
				h.Source, h.Destination = net.UDPAddrFromAddrPort(s), net.UDPAddrFromAddrPort(d)
			} else {
				h.Source, h.Destination = net.TCPAddrFromAddrPort(s), net.TCPAddrFromAddrPort(d)
			}
		}
		if version%2 == 0 {
			if tlvType != 0 {
				h.TLVs = append(h.TLVs, TLV{Type: TLVType(tlvType), Value: tlvValue})
			}
			if crc {
				h.TLVs = append(h.TLVs, TLV{Type: TypeCRC32C})
			}
		}
		var b []byte
		var err error
		if version%2 == 0 {
			b, err = h.AppendV2(nil)
		} else {
			b, err = h.AppendV1(nil)
		}
		if err != nil {
			return
		}
		// The encoder takes TLVs up to the protocol's 64 KiB; the default
		// Parser refuses headers past its smaller bound as soon as their
		// length field is in, so every cut is parsed with the full bound.
		p := Parser{MaxV2Length: 0xffff}
		for i := range len(b) {
			if _, _, err := p.Parse(b[:i]); err != ErrNeedMore {
				t.Fatalf("%q cut at %d: %v", b, i, err)
			}
		}
		got, n, err := p.Parse(b)
		if err != nil {
			// The encoder writes registered TLVs as given; the parser
			// checks their shape.
			if errors.Is(err, ErrBadTLV) && version%2 == 0 {
				return
			}
			t.Fatalf("parse %q: %v", b, err)
		}
		if n != len(b) {
			t.Fatalf("n = %d of %d", n, len(b))
		}
		if h.Command == Proxy && h.Source != nil && got.HasAddresses() {
			gs, _ := ipPort(got.Source)
			if gs.Port() != sport || gs.Addr().Unmap() != sa.Unmap() {
				t.Fatalf("source %v, want %v:%d", got.Source, sa, sport)
			}
			gd, _ := ipPort(got.Destination)
			if gd.Port() != dport || gd.Addr().Unmap() != da.Unmap() {
				t.Fatalf("destination %v, want %v:%d", got.Destination, da, dport)
			}
		} else if got.HasAddresses() {
			t.Fatalf("addresses appeared: %+v", got)
		}
		if version%2 == 0 && len(got.TLVs) != len(h.TLVs) {
			t.Fatalf("TLVs %+v, want %+v", got.TLVs, h.TLVs)
		}
	})
}
