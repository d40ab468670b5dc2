package websocket

import (
	"encoding/binary"
	"fmt"
)

// Opcode is a frame's opcode (RFC 6455 §5.2).
type Opcode byte

// The opcodes RFC 6455 defines; the others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// IsControl reports whether o is a control opcode (close, ping, pong, or a
// reserved one of 0xB-0xF).
func (o Opcode) IsControl() bool { return o&0x8 != 0 }

func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(%#x)", byte(o))
}

func (o Opcode) defined() bool {
	switch o {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// Frame header bits (RFC 6455 §5.2).
const (
	finBit  = 0x80
	rsv1Bit = 0x40
	rsv2Bit = 0x20
	rsv3Bit = 0x10
	maskBit = 0x80

	// MaxHeaderLen is the longest frame header: 2 bytes, an 8-byte length
	// and a 4-byte mask key.
	MaxHeaderLen = 14
	// MaxControlPayload is the longest payload of a control frame (§5.5).
	MaxControlPayload = 125
)

// Header is a frame's header.
type Header struct {
	Fin    bool
	RSV1   bool // permessage-deflate: the message is compressed
	RSV2   bool
	RSV3   bool
	Opcode Opcode
	Masked bool
	Mask   [4]byte
	Length uint64 // of the payload, below 2^63
}

// ParseHeader decodes the frame header at the front of b and returns it
// with its length in bytes. n == 0 with a nil error means b holds only part
// of a header. The one rule it enforces is the length's: a 64-bit length
// with its top bit set is a protocol error (§5.2), so a hostile 2^63 is
// refused before anything trusts it; the other rules depend on the
// reader's side and state (Parser).
func ParseHeader(b []byte) (h Header, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&finBit != 0
	h.RSV1 = b0&rsv1Bit != 0
	h.RSV2 = b0&rsv2Bit != 0
	h.RSV3 = b0&rsv3Bit != 0
	h.Opcode = Opcode(b0 & 0x0f)
	h.Masked = b1&maskBit != 0
	n = 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(b) < n+2 {
			return h, 0, nil
		}
		h.Length = uint64(binary.BigEndian.Uint16(b[n:]))
		n += 2
	case 127:
		if len(b) < n+8 {
			return h, 0, nil
		}
		h.Length = binary.BigEndian.Uint64(b[n:])
		if h.Length>>63 != 0 {
			return h, 0, protocolErr("64-bit payload length %#x has its most significant bit set", h.Length)
		}
		n += 8
	default:
		h.Length = uint64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, nil
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return h, n, nil
}

// Chunk is a piece of a frame's payload, as Parser.Parse returns it.
type Chunk struct {
	Header
	// Payload is unmasked, and a view into the bytes given to Parse: valid
	// until they are consumed or changed.
	Payload []byte
	// First is set on the chunk that comes with the frame's header (its
	// payload may be empty); Last on the chunk that ends the frame.
	First, Last bool
}

// Parser reads frames incrementally from a byte stream, such as a conn's
// inbound buffer, in place: Parse unmasks the payload where it lies and
// returns views into it, so the fast path copies and allocates nothing.
// Whatever the split points of the stream, it yields the same payload bytes
// and the same error.
//
// A data frame's payload is returned in chunks as it arrives, so that a
// large frame is never buffered whole below the Parser; a control frame's
// (at most 125 bytes) only once it is all there, as one chunk.
//
// Parse enforces the rules of a single frame: reserved bits (RSV1 only
// where an extension allows it), reserved opcodes, control frames neither
// fragmented nor longer than 125 bytes, frames masked from a client and
// unmasked from a server. The rules across frames (continuations, the
// message limit) belong to the message reader.
type Parser struct {
	cur  Header
	left uint64 // payload bytes of cur not yet returned

	// Server is the side that reads: a server requires masked frames, a
	// client refuses them (§5.1).
	Server bool
	// AllowRSV1 accepts the RSV1 bit on data frames (permessage-deflate).
	AllowRSV1 bool

	inFrame bool  // cur's header is parsed and its payload not all returned
	maskPos uint8 // offset into cur.Mask of the next payload byte
	// (The fields are in this order so that a Parser is 40 bytes: it is
	// part of every conn.)
}

// Parse consumes a header and/or payload from the front of b and returns
// the chunk and the number of bytes consumed. n == 0 with a nil error means
// b holds too little to return anything: call again with more (and the
// same unconsumed bytes in front). After an error the stream is unusable.
func (p *Parser) Parse(b []byte) (c Chunk, n int, err error) {
	if !p.inFrame {
		h, hn, err := ParseHeader(b)
		if err != nil || hn == 0 {
			return c, 0, err
		}
		if err := p.check(&h); err != nil {
			return c, 0, err
		}
		if h.Opcode.IsControl() && uint64(len(b)-hn) < h.Length {
			return c, 0, nil // a control frame is returned whole
		}
		p.cur, p.left, p.maskPos, p.inFrame = h, h.Length, 0, true
		c.First = true
		n = hn
		b = b[hn:]
	} else if len(b) == 0 {
		return c, 0, nil
	}
	take := uint64(len(b))
	if take > p.left {
		take = p.left
	}
	payload := b[:take]
	if p.cur.Masked {
		p.maskPos = uint8(maskBytes(p.cur.Mask, int(p.maskPos), payload))
	}
	p.left -= take
	c.Header = p.cur
	c.Payload = payload
	if p.left == 0 {
		c.Last = true
		p.inFrame = false
	}
	return c, n + int(take), nil
}

// InFrame reports whether a frame's payload is partly read.
func (p *Parser) InFrame() bool { return p.inFrame }

// check applies the rules of a single frame's header (§5.2, §5.5).
func (p *Parser) check(h *Header) error {
	switch {
	case h.RSV2 || h.RSV3:
		return protocolErr("reserved bits RSV2/RSV3 set without an extension that defines them")
	case h.RSV1 && (!p.AllowRSV1 || h.Opcode.IsControl()):
		return protocolErr("RSV1 set on a %v frame without an extension that defines it", h.Opcode)
	case !h.Opcode.defined():
		return protocolErr("reserved opcode %#x", byte(h.Opcode))
	case h.Opcode.IsControl() && !h.Fin:
		return protocolErr("fragmented %v frame", h.Opcode)
	case h.Opcode.IsControl() && h.Length > MaxControlPayload:
		return protocolErr("%v frame of %d bytes: control frames carry at most %d", h.Opcode, h.Length, MaxControlPayload)
	case p.Server && !h.Masked:
		return protocolErr("unmasked frame from a client")
	case !p.Server && h.Masked:
		return protocolErr("masked frame from a server")
	}
	return nil
}
