package proxyproto

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// AppendV1 appends h as a version 1 line to b. A LOCAL header, or one whose
// addresses are not TCP over IPv4 or IPv6, is written "PROXY UNKNOWN".
// With Family left Unspec, TCP4 or TCP6 follows from the addresses (TCP6 if
// either is IPv6); TLVs are not carried by version 1.
func (h *Header) AppendV1(b []byte) ([]byte, error) {
	fam, tr := h.Family, h.Transport
	if fam == Unspec && tr == UnspecTransport && h.Source != nil {
		fam, tr = deriveFamily(h.Source, h.Destination)
	}
	if h.Command != Proxy || tr != Stream || (fam != IPv4 && fam != IPv6) {
		return append(b, "PROXY UNKNOWN\r\n"...), nil
	}
	src, sok := ipPort(h.Source)
	dst, dok := ipPort(h.Destination)
	if !sok || !dok {
		return b, fmt.Errorf("%w: %s header without IP addresses", ErrUnencodable, fam)
	}
	start := len(b)
	b = append(b, "PROXY TCP4 "...)
	if fam == IPv6 {
		b[len(b)-2] = '6'
	}
	for _, a := range [2]netip.Addr{src.Addr(), dst.Addr()} {
		a = a.WithZone("") // a zone has no place on the wire
		if fam == IPv4 {
			if !a.Unmap().Is4() {
				return b[:start], fmt.Errorf("%w: %s in an IPv4 header", ErrUnencodable, a)
			}
			a = a.Unmap()
		} else {
			a = netip.AddrFrom16(a.As16())
		}
		b = a.AppendTo(b)
		b = append(b, ' ')
	}
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...), nil
}

// AppendV2 appends h as a version 2 header to b. With Family and Transport
// left Unspec they follow from the addresses (*net.TCPAddr: Stream,
// *net.UDPAddr: Datagram, IPv6 if either address is; *net.UnixAddr: Unix).
// A LOCAL header writes its addresses if it has them, zeros otherwise. If
// h.TLVs holds a TypeCRC32C TLV, its value is computed here.
func (h *Header) AppendV2(b []byte) ([]byte, error) {
	if h.Command != Local && h.Command != Proxy {
		return b, fmt.Errorf("%w: command %d", ErrUnencodable, h.Command)
	}
	fam, tr := h.Family, h.Transport
	if fam == Unspec && tr == UnspecTransport && h.Source != nil {
		fam, tr = deriveFamily(h.Source, h.Destination)
	}
	if fam > Unix || tr > Datagram {
		return b, fmt.Errorf("%w: family %d, transport %d", ErrUnencodable, fam, tr)
	}
	addrLen := addressLength(fam, tr)
	length := addrLen
	for _, t := range h.TLVs {
		if len(t.Value) > 0xffff {
			return b, fmt.Errorf("%w: TLV %#x of %d bytes", ErrUnencodable, t.Type, len(t.Value))
		}
		length += 3 + len(t.Value)
		if t.Type == TypeCRC32C {
			length += 4 - len(t.Value)
		}
	}
	if length > 0xffff {
		return b, fmt.Errorf("%w: %d bytes after the fixed part", ErrUnencodable, length)
	}
	start := len(b)
	b = append(b, sigV2...)
	b = append(b, 0x20|byte(h.Command), byte(fam)<<4|byte(tr))
	b = binary.BigEndian.AppendUint16(b, uint16(length))
	var err error
	if b, err = h.appendV2Addresses(b, fam, tr, addrLen); err != nil {
		return b[:start], err
	}
	crcAt := -1
	for _, t := range h.TLVs {
		if t.Type == TypeCRC32C {
			b = append(b, byte(t.Type), 0, 4)
			crcAt = len(b)
			b = append(b, 0, 0, 0, 0)
			continue
		}
		b = append(b, byte(t.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
		b = append(b, t.Value...)
	}
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(b[crcAt:], crc32.Checksum(b[start:], castagnoli))
	}
	return b, nil
}

func (h *Header) appendV2Addresses(b []byte, fam Family, tr Transport, addrLen int) ([]byte, error) {
	if addrLen == 0 {
		return b, nil
	}
	if h.Source == nil && h.Destination == nil && h.Command == Local {
		return append(b, make([]byte, addrLen)...), nil
	}
	switch fam {
	case IPv4, IPv6:
		src, sok := ipPort(h.Source)
		dst, dok := ipPort(h.Destination)
		if !sok || !dok {
			return b, fmt.Errorf("%w: %s header without IP addresses", ErrUnencodable, fam)
		}
		for _, a := range [2]netip.Addr{src.Addr(), dst.Addr()} {
			if fam == IPv4 {
				if !a.Unmap().Is4() {
					return b, fmt.Errorf("%w: %s in an IPv4 header", ErrUnencodable, a)
				}
				v4 := a.Unmap().As4()
				b = append(b, v4[:]...)
			} else {
				v6 := a.As16()
				b = append(b, v6[:]...)
			}
		}
		b = binary.BigEndian.AppendUint16(b, src.Port())
		return binary.BigEndian.AppendUint16(b, dst.Port()), nil
	case Unix:
		for _, a := range [2]net.Addr{h.Source, h.Destination} {
			ua, ok := a.(*net.UnixAddr)
			if !ok {
				return b, fmt.Errorf("%w: UNIX header without unix addresses", ErrUnencodable)
			}
			if len(ua.Name) > unixPathLength || strings.IndexByte(ua.Name, 0) >= 0 {
				return b, fmt.Errorf("%w: unix path %q", ErrUnencodable, ua.Name)
			}
			b = append(b, ua.Name...)
			b = append(b, make([]byte, unixPathLength-len(ua.Name))...)
		}
		return b, nil
	}
	return b, nil
}

// deriveFamily is the family and transport of a pair of addresses.
func deriveFamily(src, dst net.Addr) (Family, Transport) {
	switch s := src.(type) {
	case *net.TCPAddr, *net.UDPAddr:
		tr := Stream
		if _, ok := s.(*net.UDPAddr); ok {
			tr = Datagram
		}
		sa, _ := ipPort(src)
		da, ok := ipPort(dst)
		if ok && sa.Addr().Unmap().Is4() && da.Addr().Unmap().Is4() {
			return IPv4, tr
		}
		return IPv6, tr
	case *net.UnixAddr:
		if s.Net == "unixgram" {
			return Unix, Datagram
		}
		return Unix, Stream
	}
	return Unspec, UnspecTransport
}

// ipPort is the IP address and port of a TCP or UDP address.
func ipPort(a net.Addr) (netip.AddrPort, bool) {
	switch a := a.(type) {
	case *net.TCPAddr:
		if a == nil {
			return netip.AddrPort{}, false
		}
		ap := a.AddrPort()
		return ap, ap.Addr().IsValid()
	case *net.UDPAddr:
		if a == nil {
			return netip.AddrPort{}, false
		}
		ap := a.AddrPort()
		return ap, ap.Addr().IsValid()
	}
	return netip.AddrPort{}, false
}
