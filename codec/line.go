package codec

import (
	"bytes"
	"fmt"
)

// Line frames text lines ending in "\n". A line that ends in "\r\n" is
// accepted too: the frame excludes the terminator and one '\r' before it, so
// telnet and nc clients look alike to the handler. A Line is immutable and
// safe for concurrent use.
type Line struct {
	max  int
	crlf bool
}

var _ Codec = (*Line)(nil)

// NewLine returns a Line codec whose frames (without terminator) are at most
// maxFrame bytes; maxFrame <= 0 means DefaultMaxFrame. It encodes lines with
// "\n".
func NewLine(maxFrame int) *Line {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Line{max: maxFrame}
}

// NewLineCRLF is NewLine for peers that want "\r\n" line endings (telnet,
// most Internet text protocols). It decodes exactly as NewLine does.
func NewLineCRLF(maxFrame int) *Line {
	l := NewLine(maxFrame)
	l.crlf = true
	return l
}

// MaxFrame is the largest frame, in bytes, the codec decodes or encodes.
func (l *Line) MaxFrame() int { return l.max }

// DecodeBytes returns the first line in buf without its terminator.
//
// It scans at most MaxFrame+2 bytes (the line, a '\r' and the '\n'), so a
// long buffer is never searched past the point where the answer is known.
func (l *Line) DecodeBytes(buf []byte) ([]byte, int, error) {
	scan := buf
	if len(scan)-2 > l.max {
		scan = scan[:l.max+2]
	}
	i := bytes.IndexByte(scan, '\n')
	if i < 0 {
		// Fail as soon as no line of at most max bytes can still end here:
		// max+1 bytes are allowed only if the last one is the '\r' of a
		// "\r\n" still to come.
		if len(buf)-2 >= l.max || (len(buf)-1 == l.max && buf[l.max] != '\r') {
			return nil, 0, fmt.Errorf("%w: %d bytes without a line end (limit %d)", ErrFrameTooLarge, len(buf), l.max)
		}
		return nil, 0, nil
	}
	frame := buf[:i]
	if i > 0 && frame[i-1] == '\r' {
		frame = frame[:i-1]
	}
	if len(frame) > l.max {
		return nil, 0, fmt.Errorf("%w: line of %d bytes (limit %d)", ErrFrameTooLarge, len(frame), l.max)
	}
	return frame, i + 1, nil
}

// Encode appends frame and a line end ("\n", or "\r\n" for NewLineCRLF).
// A frame that contains '\n' is ErrInvalidFrame, and so, with a "\n" line
// end, is one that ends in '\r': the decoder would drop that '\r'.
func (l *Line) Encode(dst, frame []byte) ([]byte, error) {
	if len(frame) > l.max {
		return dst, fmt.Errorf("%w: line of %d bytes (limit %d)", ErrFrameTooLarge, len(frame), l.max)
	}
	if i := bytes.IndexByte(frame, '\n'); i >= 0 {
		return dst, fmt.Errorf("%w: line contains '\\n' at %d", ErrInvalidFrame, i)
	}
	if l.crlf {
		return append(append(dst, frame...), '\r', '\n'), nil
	}
	if len(frame) > 0 && frame[len(frame)-1] == '\r' {
		return dst, fmt.Errorf("%w: line ends in '\\r' (use NewLineCRLF)", ErrInvalidFrame)
	}
	return append(append(dst, frame...), '\n'), nil
}
