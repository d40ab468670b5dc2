package proxyproto

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net"
	"net/netip"
)

// Sizes fixed by the specification.
const (
	// MaxV1Length is the longest version 1 line, CRLF included.
	MaxV1Length = 107
	// V2HeaderLength is version 2's fixed part: signature, version and
	// command, family and transport, length.
	V2HeaderLength = 16
	// DefaultMaxV2Length is the default bound on a version 2 header's
	// length field (addresses and TLVs).
	DefaultMaxV2Length = 4096
	// DefaultMaxTLVs is the default bound on a version 2 header's TLVs.
	// A proxy sends a handful (ALPN, authority, unique ID, SSL, CRC32C, a
	// cloud's endpoint ID); without a bound, 4 KiB of empty TLVs would be
	// 1,365 entries kept for the conn's life.
	DefaultMaxTLVs = 64

	unixPathLength = 108
)

var (
	sigV1 = []byte("PROXY ")
	sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// errNoSignature is returned on every plain conn of an optional receiver, so
// it is made once.
var errNoSignature error = &headerError{kind: ErrNoSignature}

// Parser parses headers with bounds and checks; its zero value is ready to
// use with the defaults.
type Parser struct {
	// MaxV2Length bounds a version 2 header's length field (the bytes after
	// the 16-byte fixed part); 0 means DefaultMaxV2Length. The protocol's
	// own bound is 65535.
	MaxV2Length int
	// MaxTLVs bounds the TLVs of a version 2 header; 0 means
	// DefaultMaxTLVs. A header with more is invalid (ErrTooManyTLVs). The
	// sub-TLVs of an SSL TLV are not counted: they are parsed only when
	// Header.SSL asks, and not kept.
	MaxTLVs int
	// IgnoreChecksum skips the check of a CRC32C TLV (by default a header
	// whose checksum does not match is invalid).
	IgnoreChecksum bool
}

// Parse parses the header at the start of b with the default Parser.
func Parse(b []byte) (h *Header, n int, err error) {
	var p Parser
	return p.Parse(b)
}

// Parse parses the header at the start of b. It returns the header and its
// length n, the bytes to consume; what follows is data. While b is a valid
// beginning of a header it returns ErrNeedMore: call again with more bytes.
// Any other error matches ErrInvalid (and the specific kind, such as
// ErrNoSignature or ErrBadCRLF). The header does not reference b.
func (p *Parser) Parse(b []byte) (h *Header, n int, err error) {
	if len(b) == 0 {
		return nil, 0, ErrNeedMore
	}
	switch b[0] {
	case sigV1[0]:
		if !bytes.HasPrefix(sigV1, b[:min(len(b), len(sigV1))]) {
			return nil, 0, errNoSignature
		}
		if len(b) < len(sigV1) {
			return nil, 0, ErrNeedMore
		}
		return parseV1(b)
	case sigV2[0]:
		if !bytes.HasPrefix(sigV2, b[:min(len(b), len(sigV2))]) {
			return nil, 0, errNoSignature
		}
		if len(b) < len(sigV2) {
			return nil, 0, ErrNeedMore
		}
		return p.parseV2(b)
	}
	return nil, 0, errNoSignature
}

// parseV1 parses a line that starts with "PROXY ".
func parseV1(b []byte) (*Header, int, error) {
	// The CRLF must end by byte 107, so the CR is among the first 106.
	end := -1 // index of the CR
	limit := min(len(b), MaxV1Length-1)
	for i := len(sigV1); i < limit; i++ {
		c := b[i]
		if c == '\r' {
			end = i
			break
		}
		if c == '\n' {
			return nil, 0, invalid(ErrBadCRLF, "LF without CR")
		}
		if c < 0x20 || c > 0x7e {
			return nil, 0, invalid(ErrMalformed, "byte outside printable ASCII")
		}
	}
	if end < 0 {
		if len(b) >= MaxV1Length-1 {
			return nil, 0, invalid(ErrTooLong, "no CRLF in the first 107 bytes")
		}
		return nil, 0, ErrNeedMore
	}
	if end+1 == len(b) {
		return nil, 0, ErrNeedMore
	}
	if b[end+1] != '\n' {
		return nil, 0, invalid(ErrBadCRLF, "CR not followed by LF")
	}
	n := end + 2
	line := b[len(sigV1):end]
	h := &Header{Version: 1, Command: Proxy}

	proto, rest, _ := bytes.Cut(line, []byte{' '})
	switch string(proto) {
	case "UNKNOWN":
		// The receiver must ignore whatever follows UNKNOWN.
		return h, n, nil
	case "TCP4":
		h.Family = IPv4
	case "TCP6":
		h.Family = IPv6
	default:
		return nil, 0, invalid(ErrUnknownFamily, "version 1 protocol "+quote(proto))
	}
	h.Transport = Stream
	var fields [4][]byte
	for i := range fields {
		var f []byte
		if i < len(fields)-1 {
			var found bool
			if f, rest, found = bytes.Cut(rest, []byte{' '}); !found {
				return nil, 0, invalid(ErrMalformed, "too few fields")
			}
		} else {
			f = rest
		}
		if len(f) == 0 {
			return nil, 0, invalid(ErrMalformed, "empty field (a double or trailing space)")
		}
		fields[i] = f
	}
	src, err := parseV1Addr(fields[0], h.Family)
	if err != nil {
		return nil, 0, err
	}
	dst, err := parseV1Addr(fields[1], h.Family)
	if err != nil {
		return nil, 0, err
	}
	sport, err := parseV1Port(fields[2])
	if err != nil {
		return nil, 0, err
	}
	dport, err := parseV1Port(fields[3])
	if err != nil {
		return nil, 0, err
	}
	h.Source = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, sport))
	h.Destination = net.TCPAddrFromAddrPort(netip.AddrPortFrom(dst, dport))
	return h, n, nil
}

func parseV1Addr(f []byte, fam Family) (netip.Addr, error) {
	// netip rejects IPv4 octets with leading zeros, as the specification
	// asks; zones have no place on the wire.
	a, err := netip.ParseAddr(string(f))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, invalid(ErrBadAddress, quote(f))
	}
	if (fam == IPv4) != a.Is4() {
		return netip.Addr{}, invalid(ErrBadAddress, quote(f)+" is not of the family "+fam.String())
	}
	return a, nil
}

func parseV1Port(f []byte) (uint16, error) {
	if len(f) > 5 || (len(f) > 1 && f[0] == '0') {
		return 0, invalid(ErrBadPort, quote(f))
	}
	v := 0
	for _, c := range f {
		if c < '0' || c > '9' {
			return 0, invalid(ErrBadPort, quote(f))
		}
		v = v*10 + int(c-'0')
	}
	if v > 0xffff {
		return 0, invalid(ErrBadPort, quote(f))
	}
	return uint16(v), nil
}

// quote shows at most a field's worth of untrusted bytes in an error.
func quote(f []byte) string {
	const show = 48
	if len(f) > show {
		f = f[:show]
	}
	return "\"" + string(bytes.ToValidUTF8(f, []byte("?"))) + "\""
}

// addressLength is the size of version 2's address block for fam and tr, or
// 0 when it is not defined (an unspecified family or transport).
func addressLength(fam Family, tr Transport) int {
	if tr == UnspecTransport {
		return 0
	}
	switch fam {
	case IPv4:
		return 2*4 + 2*2
	case IPv6:
		return 2*16 + 2*2
	case Unix:
		return 2 * unixPathLength
	}
	return 0
}

// parseV2 parses a header that starts with the version 2 signature.
func (p *Parser) parseV2(b []byte) (*Header, int, error) {
	if len(b) < V2HeaderLength {
		// Check what has arrived of the fixed part at once.
		if len(b) > 12 {
			if _, err := versionCommand(b[12]); err != nil {
				return nil, 0, err
			}
		}
		if len(b) > 13 {
			if _, _, err := familyTransport(b[13]); err != nil {
				return nil, 0, err
			}
		}
		return nil, 0, ErrNeedMore
	}
	cmd, err := versionCommand(b[12])
	if err != nil {
		return nil, 0, err
	}
	fam, tr, err := familyTransport(b[13])
	if err != nil {
		return nil, 0, err
	}
	length := int(binary.BigEndian.Uint16(b[14:16]))
	maxLen := p.MaxV2Length
	if maxLen <= 0 {
		maxLen = DefaultMaxV2Length
	}
	if length > maxLen {
		return nil, 0, invalid(ErrTooLong, "version 2 length past the bound")
	}
	addrLen := addressLength(fam, tr)
	if cmd == Proxy && length < addrLen {
		return nil, 0, invalid(ErrTruncated, "length shorter than the "+fam.String()+" address block")
	}
	n := V2HeaderLength + length
	if len(b) < n {
		return nil, 0, ErrNeedMore
	}
	h := &Header{Version: 2, Command: cmd, Family: fam, Transport: tr}
	body := b[V2HeaderLength:n]
	if length < addrLen {
		// A LOCAL header with a short block: its addresses are ignored
		// anyway, and no TLV can be told from them.
		return h, n, nil
	}
	if cmd == Proxy && addrLen > 0 {
		h.Source, h.Destination = v2Addresses(fam, tr, body[:addrLen])
	}
	rest := body[addrLen:]
	if len(rest) == 0 {
		return h, n, nil
	}
	// One copy holds every TLV value, so the header outlives b; the TLVs
	// are views into it, in a slice of their exact count.
	maxTLVs := p.MaxTLVs
	if maxTLVs <= 0 {
		maxTLVs = DefaultMaxTLVs
	}
	own := bytes.Clone(rest)
	tlvs, err := parseTLVs(own, maxTLVs)
	if err != nil {
		if addrLen == 0 {
			// An unspecified family may carry address bytes of any
			// shape, which the receiver ignores.
			return h, n, nil
		}
		return nil, 0, err
	}
	if err := checkTLVs(tlvs); err != nil {
		return nil, 0, err
	}
	h.TLVs = tlvs
	if !p.IgnoreChecksum {
		if err := verifyChecksum(b[:n], V2HeaderLength+addrLen, tlvs); err != nil {
			return nil, 0, err
		}
	}
	return h, n, nil
}

func versionCommand(c byte) (Command, error) {
	if c>>4 != 2 {
		return 0, invalid(ErrBadVersion, "version 2 signature with another version")
	}
	cmd := Command(c & 0xf)
	if cmd != Local && cmd != Proxy {
		return 0, invalid(ErrBadCommand, "")
	}
	return cmd, nil
}

func familyTransport(c byte) (Family, Transport, error) {
	fam, tr := Family(c>>4), Transport(c&0xf)
	if fam > Unix || tr > Datagram {
		return 0, 0, invalid(ErrUnknownFamily, "")
	}
	return fam, tr, nil
}

func v2Addresses(fam Family, tr Transport, b []byte) (src, dst net.Addr) {
	switch fam {
	case IPv4, IPv6:
		size := 4
		if fam == IPv6 {
			size = 16
		}
		sa, _ := netip.AddrFromSlice(b[:size])
		da, _ := netip.AddrFromSlice(b[size : 2*size])
		sp := binary.BigEndian.Uint16(b[2*size:])
		dp := binary.BigEndian.Uint16(b[2*size+2:])
		s, d := netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp)
		if tr == Datagram {
			return net.UDPAddrFromAddrPort(s), net.UDPAddrFromAddrPort(d)
		}
		return net.TCPAddrFromAddrPort(s), net.TCPAddrFromAddrPort(d)
	case Unix:
		network := "unix"
		if tr == Datagram {
			network = "unixgram"
		}
		return &net.UnixAddr{Name: unixPath(b[:unixPathLength]), Net: network},
			&net.UnixAddr{Name: unixPath(b[unixPathLength:]), Net: network}
	}
	return nil, nil
}

// unixPath is a sun_path: up to its first NUL.
func unixPath(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// checkTLVs checks the registered TLVs whose values have a defined shape.
func checkTLVs(tlvs []TLV) error {
	crcs := 0
	for _, t := range tlvs {
		switch t.Type {
		case TypeCRC32C:
			crcs++
			if len(t.Value) != 4 || crcs > 1 {
				return invalid(ErrBadTLV, "CRC32C TLV must be one, of 4 bytes")
			}
		case TypeUniqueID:
			if len(t.Value) > MaxUniqueIDLength {
				return invalid(ErrBadTLV, "unique ID longer than 128 bytes")
			}
		case TypeSSL:
			if _, err := parseSSL(t.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// verifyChecksum checks a CRC32C TLV, if there is one, against the whole
// header hdr with the checksum's own bytes taken as zeros.
func verifyChecksum(hdr []byte, tlvStart int, tlvs []TLV) error {
	want, ok := findTLV(tlvs, TypeCRC32C)
	if !ok {
		return nil
	}
	off := crcOffset(hdr, tlvStart)
	crc := crc32.Update(0, castagnoli, hdr[:off])
	crc = crc32.Update(crc, castagnoli, []byte{0, 0, 0, 0})
	crc = crc32.Update(crc, castagnoli, hdr[off+4:])
	if crc != binary.BigEndian.Uint32(want) {
		return invalid(ErrBadChecksum, "")
	}
	return nil
}

// crcOffset finds the value of the (single, well-formed) CRC32C TLV in hdr.
func crcOffset(hdr []byte, i int) int {
	for i+3 <= len(hdr) {
		n := int(binary.BigEndian.Uint16(hdr[i+1 : i+3]))
		if TLVType(hdr[i]) == TypeCRC32C {
			return i + 3
		}
		i += 3 + n
	}
	return -1
}
