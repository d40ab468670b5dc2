// Package codec splits a conn's inbound byte stream into frames and frames
// outbound messages, in the manner of Netty's frame decoders: Line,
// Delimiter, FixedLength and LengthField. It depends on package conn alone:
// package codec/framed turns a handler of whole frames into a
// reactor.Handler, and package codec/resp decodes Redis requests.
//
// Start with a decoder (NewLine, NewLineCRLF, NewDelimiter, NewFixedLength,
// NewLengthField) and framed.New, which runs a handler of whole frames on
// an engine; or call Decode from OnTraffic, and WriteFrame to answer.
// ExampleLine_DecodeBytes and ExampleLengthField are runnable.
//
// # Contract
//
// A Decoder is a pure function of the bytes it is shown: DecodeBytes finds
// the first complete frame in buf and reports how many bytes it spans. An
// incomplete frame is not an error; the decoder reports n == 0 and is asked
// again, with the same bytes plus what arrived since, on the next OnTraffic.
// Because decoders keep no per-conn state, one value may serve every conn on
// every loop at once.
// The price is that an incomplete frame is scanned again when more bytes
// arrive; decoders never scan past their limit, which bounds that cost.
//
// Decode runs a Decoder against a conn without copying: it peeks at the
// conn's buffered bytes and then consumes the frame's bytes, so the frame
// it returns aliases the conn's inbound buffer. Such a frame is valid only
// until the callback returns or the next call that consumes from the conn
// (including the next Decode); copy it to keep it.
//
// # Bounded memory
//
// Every decoder has a maximum frame size. A peer that announces or sends a
// frame larger than that, or that sends more bytes than the largest frame
// could span without completing one, gets ErrFrameTooLarge as soon as that
// is certain, so a conn never buffers much more than one maximal frame.
// Input no valid frame could start with (say, a negative length) gets
// ErrMalformed. codec/framed's Adapter closes the conn with either, and its
// OnClose receives the error.
//
// # What this package is not
//
// It is not a pipeline: there is one decoder per handler and no chain of
// inbound or outbound stages. It does not decode message contents (that is
// the frame handler's job) and does not buffer outbound data (the conn does).
package codec

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/evloop/evloop/conn"
)

// Default maximum frame sizes, used when a configuration's MaxFrame is 0
// (for NewLine and NewLineCRLF: 0 or less).
const (
	// DefaultMaxFrame bounds Line and Delimiter frames: text protocols'
	// lines are short, and a peer that never sends the delimiter should be
	// cut off early.
	DefaultMaxFrame = 64 << 10
	// DefaultMaxLengthFrame bounds LengthField frames, whose size the peer
	// announces up front; binary protocols carry larger payloads.
	DefaultMaxLengthFrame = 16 << 20
)

// Errors callers can test with errors.Is. Returned errors wrap these with
// details (sizes, limits, offsets).
var (
	// ErrFrameTooLarge means a frame exceeds the decoder's maximum, or that
	// the peer sent more bytes than a maximal frame spans without completing
	// one. Encoders return it for a frame they could not send within the
	// limit (or the length field's range).
	ErrFrameTooLarge = errors.New("codec: frame too large")
	// ErrMalformed means the input cannot be a frame of this codec, for
	// example a length field that is negative once adjusted.
	ErrMalformed = errors.New("codec: malformed frame")
	// ErrInvalidFrame is returned by encoders for a frame they cannot
	// represent so that it decodes back unchanged, for example a line that
	// contains '\n' or a fixed-length frame of the wrong length.
	ErrInvalidFrame = errors.New("codec: frame cannot be encoded")
	// ErrConfig is returned by constructors for an invalid configuration.
	ErrConfig = errors.New("codec: invalid configuration")
)

// Decoder finds frames in a byte stream.
type Decoder interface {
	// DecodeBytes looks for the first complete frame at the start of buf.
	// It returns the frame, and n, the number of bytes of buf the frame
	// spans (header, payload and delimiter), which the caller consumes.
	// n == 0 with a nil error means buf holds no complete frame yet; a
	// frame is produced exactly when n > 0, and may be empty.
	//
	// The frame must be a two-index subslice of buf[:n] (so that Decode can
	// re-point it at the conn's buffer) or memory the decoder owns. It must
	// not retain buf. 0 <= n <= len(buf) always.
	DecodeBytes(buf []byte) (frame []byte, n int, err error)
}

// Encoder frames outbound messages.
type Encoder interface {
	// Encode appends frame, framed (delimiter, length field, ...), to dst
	// and returns the extended slice. On error dst is returned unchanged.
	Encode(dst, frame []byte) ([]byte, error)
}

// Codec decodes and encodes the same framing.
type Codec interface {
	Decoder
	Encoder
}

// emptyFrame is returned for zero-length frames, so that they are never
// nil and never alias memory that may be reused.
var emptyFrame = []byte{}

// Decode consumes the first complete frame buffered in c (loop only). ok is
// false, with a nil error, when no complete frame is buffered yet; then
// nothing is consumed. On error nothing is consumed either; the caller is
// expected to close c.
//
// The frame aliases c's inbound buffer (or the decoder's memory) and is valid
// only until the callback returns or the next call that consumes from c.
func Decode(c conn.Conn, d Decoder) (frame []byte, ok bool, err error) {
	buf, err := c.Peek(-1)
	if err != nil && !errors.Is(err, io.ErrShortBuffer) {
		return nil, false, err
	}
	frame, n, err := d.DecodeBytes(buf)
	if err != nil {
		return nil, false, err
	}
	if n <= 0 {
		return nil, false, nil
	}
	if n > len(buf) {
		// Like bufio with a Reader that returns an impossible count: a
		// broken decoder, not bad input. The reactor turns the panic into
		// a closed conn.
		panic(fmt.Sprintf("codec: %T.DecodeBytes consumed %d bytes of %d", d, n, len(buf)))
	}
	if len(frame) == 0 {
		_, err = c.Discard(n)
		return emptyFrame, err == nil, err
	}
	if off, aliased := offsetIn(buf[:n], frame); aliased {
		// The Peek slice is valid only until the next consuming call, so
		// take the frame from what Next returns: on a contiguous buffer
		// Next returns the very same bytes, on a ring buffer it may
		// linearize them into new memory.
		next, err := c.Next(n)
		if err != nil {
			return nil, false, err
		}
		return next[off : off+len(frame)], true, nil
	}
	_, err = c.Discard(n)
	return frame, err == nil, err
}

// offsetIn reports where frame starts in buf, if frame is a two-index
// subslice of buf. Two such slices share the end of their capacity, which
// gives the offset without package unsafe; comparing element addresses
// confirms it.
func offsetIn(buf, frame []byte) (int, bool) {
	if len(frame) == 0 || cap(frame) > cap(buf) {
		return 0, false
	}
	off := cap(buf) - cap(frame)
	if off+len(frame) > len(buf) {
		return 0, false
	}
	return off, &buf[off] == &frame[0]
}

// encodeBuffers holds scratch buffers for WriteFrame. Conn.Write copies (or
// hands to the kernel) what it is given before it returns, so a buffer can
// go back to the pool at once.
var encodeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledBuffer keeps one huge frame from pinning its buffer in the pool.
const maxPooledBuffer = 64 << 10

// WriteFrame encodes frame with e and writes it to c (loop only). It
// allocates nothing in the steady state, so a handler can echo or answer
// frames without a buffer of its own. frame may alias c's inbound buffer.
func WriteFrame(c conn.Conn, e Encoder, frame []byte) error {
	bp := encodeBuffers.Get().(*[]byte)
	b, err := e.Encode((*bp)[:0], frame)
	if err == nil {
		_, err = c.Write(b)
	}
	if cap(b) <= maxPooledBuffer {
		*bp = b
		encodeBuffers.Put(bp)
	}
	return err
}
