package websocket

import "encoding/binary"

// AppendHeader appends the header of a frame with h's bits, opcode, mask
// and a payload of length bytes to dst.
func AppendHeader(dst []byte, h Header, length int) []byte {
	b0 := byte(h.Opcode) & 0x0f
	if h.Fin {
		b0 |= finBit
	}
	if h.RSV1 {
		b0 |= rsv1Bit
	}
	if h.RSV2 {
		b0 |= rsv2Bit
	}
	if h.RSV3 {
		b0 |= rsv3Bit
	}
	var b1 byte
	if h.Masked {
		b1 = maskBit
	}
	switch {
	case length < 126:
		dst = append(dst, b0, b1|byte(length))
	case length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// AppendFrame appends a whole frame to dst: h's header and payload, masked
// with h.Mask when h.Masked (payload itself is left as it is).
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	dst = AppendHeader(dst, h, len(payload))
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		maskBytes(h.Mask, 0, dst[start:])
	}
	return dst
}

// ServerHeader is the header of a server's frame: unmasked (§5.1).
func ServerHeader(op Opcode, fin bool) Header { return Header{Fin: fin, Opcode: op} }

// ClientHeader is the header of a client's frame: masked with a fresh
// crypto-random key (§5.3).
func ClientHeader(op Opcode, fin bool) Header {
	return Header{Fin: fin, Opcode: op, Masked: true, Mask: newMaskKey()}
}
