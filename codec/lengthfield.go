package codec

import (
	"fmt"
	"math"
)

// LengthFieldConfig configures a LengthField codec. The fields mean what
// they mean for Netty's LengthFieldBasedFrameDecoder:
//
//	frame on the wire:  [ Offset bytes | length field (Size bytes) | rest ... ]
//	wire frame length = field value + Adjustment + Offset + Size
//	decoded frame     = wire frame [Strip : wire frame length]
//
// Common settings:
//
//	body preceded by a 4-byte big-endian body length:  {Size: 4, Strip: 4}
//	same, but the length counts itself:                {Size: 4, Adjustment: -4, Strip: 4}
//	2-byte magic, 3-byte length, keep the whole header: {Offset: 2, Size: 3}
type LengthFieldConfig struct {
	// Offset is the number of bytes before the length field.
	Offset int
	// Size is the length field's size in bytes: 1, 2, 3, 4 or 8. An 8-byte
	// value is signed (as in Netty): one with the top bit set is malformed.
	Size int
	// LittleEndian selects the field's byte order; big endian by default.
	LittleEndian bool
	// Adjustment is added to the field's value to get the number of bytes
	// that follow the field, for protocols whose length counts the header
	// (negative) or does not count trailing header bytes (positive).
	Adjustment int
	// Strip is the number of bytes dropped from the front of each decoded
	// frame; Offset+Size drops the whole header.
	Strip int
	// MaxFrame bounds the wire frame length (header included, before
	// stripping); 0 means DefaultMaxLengthFrame. A frame announcing more is
	// rejected as soon as its length field arrives.
	MaxFrame int
}

// LengthField frames a stream on a length field in each frame's header. A
// LengthField is immutable and safe for concurrent use.
type LengthField struct {
	cfg LengthFieldConfig
	end int // Offset + Size: where the length field ends
}

var _ Codec = (*LengthField)(nil)

// maxLengthFrameLimit bounds MaxFrame, Offset and Adjustment so that frame
// length arithmetic in int64 cannot overflow (and 1 TiB frames are not a
// thing an event loop buffers).
const maxLengthFrameLimit = 1 << 40

// NewLengthField returns a LengthField codec for cfg, or an error wrapping
// ErrConfig.
func NewLengthField(cfg LengthFieldConfig) (*LengthField, error) {
	switch cfg.Size {
	case 1, 2, 3, 4, 8:
	default:
		return nil, fmt.Errorf("%w: length field size %d not 1, 2, 3, 4 or 8", ErrConfig, cfg.Size)
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = DefaultMaxLengthFrame
	}
	switch {
	case cfg.MaxFrame < 0 || int64(cfg.MaxFrame) > maxLengthFrameLimit:
		return nil, fmt.Errorf("%w: MaxFrame %d out of range", ErrConfig, cfg.MaxFrame)
	case cfg.Offset < 0 || cfg.Offset > cfg.MaxFrame-cfg.Size:
		return nil, fmt.Errorf("%w: length field at %d+%d does not fit in MaxFrame %d", ErrConfig, cfg.Offset, cfg.Size, cfg.MaxFrame)
	case cfg.Strip < 0:
		return nil, fmt.Errorf("%w: Strip %d < 0", ErrConfig, cfg.Strip)
	case int64(cfg.Adjustment) > maxLengthFrameLimit || int64(cfg.Adjustment) < -maxLengthFrameLimit:
		return nil, fmt.Errorf("%w: Adjustment %d out of range", ErrConfig, cfg.Adjustment)
	}
	return &LengthField{cfg: cfg, end: cfg.Offset + cfg.Size}, nil
}

// Config returns the configuration in effect, defaults filled in.
func (l *LengthField) Config() LengthFieldConfig { return l.cfg }

// MaxFrame is the largest wire frame, header included, the codec decodes or
// encodes.
func (l *LengthField) MaxFrame() int { return l.cfg.MaxFrame }

// DecodeBytes returns the first frame in buf with Strip bytes dropped from
// its front. It fails as soon as the length field is buffered if the frame
// it announces is too large or malformed, without waiting for its bytes.
func (l *LengthField) DecodeBytes(buf []byte) ([]byte, int, error) {
	if len(buf) < l.end {
		return nil, 0, nil
	}
	raw := l.field(buf[l.cfg.Offset:l.end])
	if raw > math.MaxInt64 {
		return nil, 0, fmt.Errorf("%w: negative length field %d", ErrMalformed, int64(raw))
	}
	if raw > 1<<62 {
		// Past every limit whatever the adjustment, and adding to it
		// could overflow.
		return nil, 0, fmt.Errorf("%w: length field %d (limit %d)", ErrFrameTooLarge, raw, l.cfg.MaxFrame)
	}
	frameLen := int64(raw) + int64(l.cfg.Adjustment) + int64(l.end)
	switch {
	case frameLen < int64(l.end):
		return nil, 0, fmt.Errorf("%w: adjusted frame length %d shorter than its %d-byte header", ErrMalformed, frameLen, l.end)
	case frameLen > int64(l.cfg.MaxFrame):
		return nil, 0, fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrFrameTooLarge, frameLen, l.cfg.MaxFrame)
	case int64(l.cfg.Strip) > frameLen:
		return nil, 0, fmt.Errorf("%w: frame of %d bytes shorter than the %d bytes to strip", ErrMalformed, frameLen, l.cfg.Strip)
	}
	n := int(frameLen)
	if len(buf) < n {
		return nil, 0, nil
	}
	return buf[l.cfg.Strip:n], n, nil
}

// Encode writes a frame whose length field it computes. The first Offset
// bytes of frame are the header bytes that precede the length field (a magic
// number, a type byte); the field follows them, then the rest of frame:
//
//	wire = frame[:Offset] + field + frame[Offset:]
//	field value = len(frame) - Offset - Adjustment
//
// Decoding the result yields wire[Strip:]; so with Offset 0 and Strip ==
// Size (the usual length-prefixed body) decode(encode(x)) == x. Frames that
// would exceed MaxFrame or the field's range are ErrFrameTooLarge; frames
// shorter than Offset, or whose field value would be negative or that the
// decoder would reject, are ErrInvalidFrame.
func (l *LengthField) Encode(dst, frame []byte) ([]byte, error) {
	off := l.cfg.Offset
	if len(frame) < off {
		return dst, fmt.Errorf("%w: frame of %d bytes shorter than the %d header bytes before the length field", ErrInvalidFrame, len(frame), off)
	}
	frameLen := int64(len(frame)) + int64(l.cfg.Size)
	if frameLen > int64(l.cfg.MaxFrame) {
		return dst, fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrFrameTooLarge, frameLen, l.cfg.MaxFrame)
	}
	v := int64(len(frame)) - int64(off) - int64(l.cfg.Adjustment)
	if v < 0 {
		return dst, fmt.Errorf("%w: length field value %d < 0", ErrInvalidFrame, v)
	}
	if l.cfg.Size < 8 && v >= 1<<(8*l.cfg.Size) {
		return dst, fmt.Errorf("%w: length field value %d does not fit in %d bytes", ErrFrameTooLarge, v, l.cfg.Size)
	}
	if int64(l.cfg.Strip) > frameLen {
		return dst, fmt.Errorf("%w: frame of %d bytes shorter than the %d bytes to strip", ErrInvalidFrame, frameLen, l.cfg.Strip)
	}
	dst = append(dst, frame[:off]...)
	dst = l.appendField(dst, uint64(v))
	return append(dst, frame[off:]...), nil
}

// field reads the length field in p (len(p) == Size) as unsigned.
func (l *LengthField) field(p []byte) uint64 {
	var v uint64
	if l.cfg.LittleEndian {
		for i := len(p) - 1; i >= 0; i-- {
			v = v<<8 | uint64(p[i])
		}
		return v
	}
	for _, b := range p {
		v = v<<8 | uint64(b)
	}
	return v
}

// appendField appends v as a Size-byte field in the configured byte order.
func (l *LengthField) appendField(dst []byte, v uint64) []byte {
	n := l.cfg.Size
	if l.cfg.LittleEndian {
		for i := 0; i < n; i++ {
			dst = append(dst, byte(v>>(8*i)))
		}
		return dst
	}
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}
