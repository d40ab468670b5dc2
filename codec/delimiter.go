package codec

import (
	"bytes"
	"fmt"
	"math"
)

// DelimiterConfig configures a Delimiter codec, after Netty's
// DelimiterBasedFrameDecoder.
type DelimiterConfig struct {
	// Delim ends every frame; it must not be empty. It is copied.
	Delim []byte
	// KeepDelimiter makes decoded frames end with Delim. By default it is
	// stripped, as in Netty.
	KeepDelimiter bool
	// MaxFrame bounds a frame's length, not counting the delimiter;
	// 0 means DefaultMaxFrame.
	MaxFrame int
}

// Delimiter frames a stream on an arbitrary byte sequence. A Delimiter is
// immutable and safe for concurrent use.
type Delimiter struct {
	delim []byte
	keep  bool
	max   int
}

var _ Codec = (*Delimiter)(nil)

// NewDelimiter returns a Delimiter codec for cfg, or an error wrapping
// ErrConfig.
func NewDelimiter(cfg DelimiterConfig) (*Delimiter, error) {
	if len(cfg.Delim) == 0 {
		return nil, fmt.Errorf("%w: empty delimiter", ErrConfig)
	}
	if cfg.MaxFrame < 0 {
		return nil, fmt.Errorf("%w: MaxFrame %d < 0", ErrConfig, cfg.MaxFrame)
	}
	if cfg.MaxFrame == 0 {
		cfg.MaxFrame = DefaultMaxFrame
	}
	// MaxFrame+len(Delim) must not overflow; such a limit means "none".
	cfg.MaxFrame = min(cfg.MaxFrame, math.MaxInt-len(cfg.Delim))
	return &Delimiter{delim: bytes.Clone(cfg.Delim), keep: cfg.KeepDelimiter, max: cfg.MaxFrame}, nil
}

// MaxFrame is the largest frame, in bytes and without the delimiter, the
// codec decodes or encodes.
func (d *Delimiter) MaxFrame() int { return d.max }

// DecodeBytes returns the bytes before the first delimiter in buf (followed
// by the delimiter if KeepDelimiter was set).
//
// It scans at most MaxFrame+len(Delim) bytes: a delimiter that starts any
// later would end a frame that is too large anyway.
func (d *Delimiter) DecodeBytes(buf []byte) ([]byte, int, error) {
	span := d.max + len(d.delim) // bytes of the longest acceptable frame with its delimiter
	scan := buf
	if len(scan) > span {
		scan = scan[:span]
	}
	i := bytes.Index(scan, d.delim)
	if i < 0 {
		if len(buf) >= span {
			return nil, 0, fmt.Errorf("%w: %d bytes without a delimiter (limit %d)", ErrFrameTooLarge, len(buf), d.max)
		}
		return nil, 0, nil
	}
	n := i + len(d.delim)
	if d.keep {
		return buf[:n], n, nil
	}
	return buf[:i], n, nil
}

// Encode appends frame and the delimiter. A frame that contains the
// delimiter, or whose tail forms one with the delimiter's head, would decode
// differently and is ErrInvalidFrame. With KeepDelimiter the decoder returns
// the frame followed by the delimiter.
func (d *Delimiter) Encode(dst, frame []byte) ([]byte, error) {
	if len(frame) > d.max {
		return dst, fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrFrameTooLarge, len(frame), d.max)
	}
	start := len(dst)
	out := append(append(dst, frame...), d.delim...)
	// Checking what was written against the decoder's own rule catches the
	// overlap cases too (delimiter "aba", frame "xab": "xababa" ends at 1).
	if i := bytes.Index(out[start:], d.delim); i != len(frame) {
		return dst, fmt.Errorf("%w: frame would end at the delimiter at %d, not %d", ErrInvalidFrame, i, len(frame))
	}
	return out, nil
}
