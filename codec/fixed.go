package codec

import "fmt"

// FixedLength frames a stream into frames of one fixed size, like Netty's
// FixedLengthFrameDecoder. Its maximum frame is that size, so it can never
// buffer more than one frame's worth and never fails to decode. A
// FixedLength is immutable and safe for concurrent use.
type FixedLength struct {
	size int
}

var _ Codec = (*FixedLength)(nil)

// NewFixedLength returns a codec for frames of size bytes, or an error
// wrapping ErrConfig if size < 1.
func NewFixedLength(size int) (*FixedLength, error) {
	if size < 1 {
		return nil, fmt.Errorf("%w: fixed frame size %d < 1", ErrConfig, size)
	}
	return &FixedLength{size: size}, nil
}

// MaxFrame is the frame size.
func (f *FixedLength) MaxFrame() int { return f.size }

// DecodeBytes returns the first size bytes of buf, once there are that many.
func (f *FixedLength) DecodeBytes(buf []byte) ([]byte, int, error) {
	if len(buf) < f.size {
		return nil, 0, nil
	}
	return buf[:f.size], f.size, nil
}

// Encode appends frame, which must be exactly the frame size
// (ErrInvalidFrame otherwise): padding is the protocol's business.
func (f *FixedLength) Encode(dst, frame []byte) ([]byte, error) {
	if len(frame) != f.size {
		return dst, fmt.Errorf("%w: frame of %d bytes, want %d", ErrInvalidFrame, len(frame), f.size)
	}
	return append(dst, frame...), nil
}
