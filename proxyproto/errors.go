package proxyproto

import "errors"

// ErrNeedMore reports that the bytes so far are a valid beginning of a
// header: call Parse again once more have arrived. It is not an ErrInvalid.
var ErrNeedMore = errors.New("proxyproto: incomplete header, need more bytes")

// ErrInvalid matches every error Parse returns for bytes that are not a valid
// header (all the errors below), so a caller can tell them from ErrNeedMore
// with one errors.Is.
var ErrInvalid = errors.New("proxyproto: invalid header")

// Errors for invalid headers; each also matches ErrInvalid.
var (
	// ErrNoSignature: the bytes begin neither the version 1 signature
	// ("PROXY ") nor the version 2 one. Reported from the first byte that
	// differs, so an optional receiver can treat the bytes as data.
	ErrNoSignature = errors.New("proxyproto: no PROXY signature")
	// ErrBadCRLF: a version 1 line ends with a lone CR or LF, or holds one.
	ErrBadCRLF = errors.New("proxyproto: bad CRLF in version 1 header")
	// ErrTooLong: a version 1 line without CRLF in its first 107 bytes, or a
	// version 2 length past the parser's bound.
	ErrTooLong = errors.New("proxyproto: header too long")
	// ErrBadVersion: a version 2 signature followed by a version other than 2.
	ErrBadVersion = errors.New("proxyproto: unsupported version")
	// ErrBadCommand: a version 2 command other than LOCAL or PROXY.
	ErrBadCommand = errors.New("proxyproto: unknown command")
	// ErrUnknownFamily: a version 1 protocol other than TCP4, TCP6 or
	// UNKNOWN, or a version 2 address family or transport outside the
	// specification.
	ErrUnknownFamily = errors.New("proxyproto: unknown address family or protocol")
	// ErrBadAddress: a version 1 address that is not in the canonical form
	// of its family.
	ErrBadAddress = errors.New("proxyproto: bad address")
	// ErrBadPort: a version 1 port that is not a decimal in [0, 65535]
	// without leading zeros.
	ErrBadPort = errors.New("proxyproto: bad port")
	// ErrMalformed: a version 1 line whose fields are not separated by
	// exactly one space, or that holds bytes a header never holds.
	ErrMalformed = errors.New("proxyproto: malformed version 1 header")
	// ErrTruncated: a version 2 length too short for its address block, or
	// a TLV running past the end of the header; also, for a receiver, a
	// stream that ended inside a header.
	ErrTruncated = errors.New("proxyproto: truncated header")
	// ErrBadTLV: a registered TLV whose value breaks its definition (a
	// CRC32C that is not 4 bytes, a unique ID over 128 bytes, an SSL TLV
	// shorter than its fixed part or with bad sub-TLVs).
	ErrBadTLV = errors.New("proxyproto: bad TLV")
	// ErrTooManyTLVs: a version 2 header with more TLVs than the parser's
	// bound (Parser.MaxTLVs).
	ErrTooManyTLVs = errors.New("proxyproto: too many TLVs")
	// ErrBadChecksum: a CRC32C TLV that does not match the header.
	ErrBadChecksum = errors.New("proxyproto: CRC32C checksum mismatch")
)

// headerError is one of the sentinels above with what was wrong in detail.
type headerError struct {
	kind   error
	detail string
}

func (e *headerError) Error() string {
	if e.detail == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.detail
}

// Is makes every header error match both its kind and ErrInvalid.
func (e *headerError) Is(target error) bool { return target == e.kind || target == ErrInvalid }

func invalid(kind error, detail string) error { return &headerError{kind: kind, detail: detail} }

// ErrUnencodable is returned by the encoders for a header they cannot
// write: addresses missing or of another family than declared, a unix path
// over 108 bytes, TLVs past the protocol's 65535 bytes.
var ErrUnencodable = errors.New("proxyproto: header cannot be encoded")
