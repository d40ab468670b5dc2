package proxyproto

import (
	"encoding/binary"
	"net"
	"strconv"
)

// Command is what a header says about its connection (version 2; a version
// 1 header is always Proxy).
type Command byte

const (
	// Local: the proxy opened the connection itself (a health check); the
	// receiver uses the socket's own addresses.
	Local Command = 0x0
	// Proxy: the connection is relayed on behalf of Source.
	Proxy Command = 0x1
)

// String names the command.
func (c Command) String() string {
	switch c {
	case Local:
		return "LOCAL"
	case Proxy:
		return "PROXY"
	}
	return "Command(?)"
}

// Family is the address family of a header's addresses (the high nibble of
// version 2's 14th byte; version 1's TCP4 and TCP6 are IPv4 and IPv6).
type Family byte

const (
	// Unspec: no addresses (version 1 UNKNOWN, version 2 AF_UNSPEC).
	Unspec Family = 0x0
	// IPv4 addresses.
	IPv4 Family = 0x1
	// IPv6 addresses.
	IPv6 Family = 0x2
	// Unix socket paths (version 2 only).
	Unix Family = 0x3
)

// String names the family.
func (f Family) String() string {
	switch f {
	case Unspec:
		return "UNSPEC"
	case IPv4:
		return "INET"
	case IPv6:
		return "INET6"
	case Unix:
		return "UNIX"
	}
	return "Family(?)"
}

// Transport is the transport protocol of the relayed connection (the low
// nibble of version 2's 14th byte).
type Transport byte

const (
	// UnspecTransport: unknown transport; the addresses are not given.
	UnspecTransport Transport = 0x0
	// Stream: TCP, or a SOCK_STREAM unix socket.
	Stream Transport = 0x1
	// Datagram: UDP, or a SOCK_DGRAM unix socket.
	Datagram Transport = 0x2
)

// String names the transport.
func (t Transport) String() string {
	switch t {
	case UnspecTransport:
		return "UNSPEC"
	case Stream:
		return "STREAM"
	case Datagram:
		return "DGRAM"
	}
	return "Transport(?)"
}

// Header is a parsed PROXY header, or one to encode.
type Header struct {
	// Version is 1 or 2, as parsed; the encoders ignore it.
	Version int
	// Command is Proxy or Local.
	Command Command
	// Family and Transport are as the header declares them. To encode, they
	// may be left zero: the encoders then derive them from the addresses.
	Family    Family
	Transport Transport
	// Source and Destination are the relayed connection's addresses
	// (*net.TCPAddr, *net.UDPAddr or *net.UnixAddr), nil when the header
	// carries none: LOCAL, UNKNOWN, an unspecified family or transport.
	Source      net.Addr
	Destination net.Addr
	// TLVs are version 2's type-length-value extensions, in header order.
	// Parse copies their values out of its input.
	TLVs []TLV
}

// HasAddresses reports whether the header carries the relayed connection's
// addresses, that is whether a receiver should use them in place of the
// socket's own.
func (h *Header) HasAddresses() bool {
	return h.Command == Proxy && h.Source != nil && h.Destination != nil
}

// TLVType is the type of a version 2 TLV.
type TLVType byte

// TLV types registered by the specification.
const (
	TypeALPN      TLVType = 0x01
	TypeAuthority TLVType = 0x02
	TypeCRC32C    TLVType = 0x03
	TypeNoop      TLVType = 0x04
	TypeUniqueID  TLVType = 0x05
	TypeSSL       TLVType = 0x20
	TypeNetNS     TLVType = 0x30

	// Sub-types found inside a TypeSSL TLV.
	SubtypeSSLVersion TLVType = 0x21
	SubtypeSSLCN      TLVType = 0x22
	SubtypeSSLCipher  TLVType = 0x23
	SubtypeSSLSigAlg  TLVType = 0x24
	SubtypeSSLKeyAlg  TLVType = 0x25

	// The range reserved for application-specific types.
	TypeMinCustom TLVType = 0xE0
	TypeMaxCustom TLVType = 0xEF
)

// MaxUniqueIDLength is the longest unique ID the specification allows.
const MaxUniqueIDLength = 128

// TLV is one type-length-value extension of a version 2 header.
type TLV struct {
	Type  TLVType
	Value []byte
}

// TLV returns the value of the header's first TLV of type t.
func (h *Header) TLV(t TLVType) ([]byte, bool) { return findTLV(h.TLVs, t) }

func findTLV(tlvs []TLV, t TLVType) ([]byte, bool) {
	for i := range tlvs {
		if tlvs[i].Type == t {
			return tlvs[i].Value, true
		}
	}
	return nil, false
}

// ALPN is the application protocol the client negotiated (TypeALPN), nil if
// absent.
func (h *Header) ALPN() []byte {
	v, _ := h.TLV(TypeALPN)
	return v
}

// Authority is the host name the client asked for, its TLS SNI typically
// (TypeAuthority), "" if absent.
func (h *Header) Authority() string {
	v, _ := h.TLV(TypeAuthority)
	return string(v)
}

// UniqueID is the proxy's opaque identifier of the connection
// (TypeUniqueID), nil if absent.
func (h *Header) UniqueID() []byte {
	v, _ := h.TLV(TypeUniqueID)
	return v
}

// NetNS is the network namespace's name (TypeNetNS), "" if absent.
func (h *Header) NetNS() string {
	v, _ := h.TLV(TypeNetNS)
	return string(v)
}

// SSL returns what the proxy says about the client's TLS (TypeSSL); ok is
// false if the header has no such TLV.
func (h *Header) SSL() (info SSLInfo, ok bool) {
	v, ok := h.TLV(TypeSSL)
	if !ok {
		return SSLInfo{}, false
	}
	info, err := parseSSL(v)
	return info, err == nil
}

// SSL client flags (SSLInfo.Client).
const (
	ClientSSL      byte = 0x01 // the client connected over TLS
	ClientCertConn byte = 0x02 // the client presented a certificate on this connection
	ClientCertSess byte = 0x04 // the client presented a certificate in this TLS session
)

// SSLInfo is the value of a TypeSSL TLV.
type SSLInfo struct {
	// Client holds the ClientSSL, ClientCertConn and ClientCertSess flags.
	Client byte
	// Verify is zero when the client's certificate was presented and
	// verified.
	Verify uint32
	// TLVs are the sub-TLVs (SubtypeSSLVersion...).
	TLVs []TLV
}

// TLS reports whether the client connected over TLS.
func (s SSLInfo) TLS() bool { return s.Client&ClientSSL != 0 }

// Verified reports whether the client presented a certificate that was
// verified.
func (s SSLInfo) Verified() bool {
	return s.Verify == 0 && s.Client&(ClientCertConn|ClientCertSess) != 0
}

// Version is the TLS version, e.g. "TLSv1.3".
func (s SSLInfo) Version() string { return s.sub(SubtypeSSLVersion) }

// CN is the Common Name of the client certificate's subject.
func (s SSLInfo) CN() string { return s.sub(SubtypeSSLCN) }

// Cipher is the cipher's name, e.g. "ECDHE-RSA-AES128-GCM-SHA256".
func (s SSLInfo) Cipher() string { return s.sub(SubtypeSSLCipher) }

// SigAlg is the algorithm that signed the proxy's certificate.
func (s SSLInfo) SigAlg() string { return s.sub(SubtypeSSLSigAlg) }

// KeyAlg is the algorithm of the proxy certificate's key.
func (s SSLInfo) KeyAlg() string { return s.sub(SubtypeSSLKeyAlg) }

func (s SSLInfo) sub(t TLVType) string {
	v, _ := findTLV(s.TLVs, t)
	return string(v)
}

// sslFixedLength is the client byte and the verify word before the sub-TLVs.
const sslFixedLength = 5

func parseSSL(v []byte) (SSLInfo, error) {
	if len(v) < sslFixedLength {
		return SSLInfo{}, invalid(ErrBadTLV, "SSL TLV shorter than 5 bytes")
	}
	subs, err := parseTLVs(v[sslFixedLength:], 0)
	if err != nil {
		return SSLInfo{}, invalid(ErrBadTLV, "SSL sub-TLVs: "+err.Error())
	}
	return SSLInfo{Client: v[0], Verify: binary.BigEndian.Uint32(v[1:5]), TLVs: subs}, nil
}

// AppendSSL encodes info as the value of a TypeSSL TLV.
func AppendSSL(b []byte, info SSLInfo) []byte {
	b = append(b, info.Client)
	b = binary.BigEndian.AppendUint32(b, info.Verify)
	return appendTLVs(b, info.TLVs)
}

// parseTLVs splits b into at most maxTLVs TLVs (0: any number); their
// values alias b. It counts them first, so the slice it returns is exactly
// as long as they are many: an entry is 32 bytes for as little as 3 on the
// wire, and a parsed header lives as long as its conn.
func parseTLVs(b []byte, maxTLVs int) ([]TLV, error) {
	count := 0
	for rest := b; len(rest) > 0; count++ {
		if maxTLVs > 0 && count == maxTLVs {
			return nil, invalid(ErrTooManyTLVs, "more than "+strconv.Itoa(maxTLVs))
		}
		if len(rest) < 3 {
			return nil, invalid(ErrTruncated, "TLV header past the end")
		}
		n := int(binary.BigEndian.Uint16(rest[1:3]))
		if len(rest) < 3+n {
			return nil, invalid(ErrTruncated, "TLV value past the end")
		}
		rest = rest[3+n:]
	}
	if count == 0 {
		return nil, nil
	}
	tlvs := make([]TLV, count)
	for i := range tlvs {
		n := int(binary.BigEndian.Uint16(b[1:3]))
		tlvs[i] = TLV{Type: TLVType(b[0]), Value: b[3 : 3+n : 3+n]}
		b = b[3+n:]
	}
	return tlvs, nil
}

func appendTLVs(b []byte, tlvs []TLV) []byte {
	for _, t := range tlvs {
		b = append(b, byte(t.Type))
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Value)))
		b = append(b, t.Value...)
	}
	return b
}
