package websocket

import "unicode/utf8"

// DefaultMaxMessage is the default limit on a message's size: its payload
// as received, and again after inflating.
const DefaultMaxMessage = 1 << 20

// retainBuffer is the largest message buffer a conn keeps between messages;
// a larger one (from a large fragmented message) is dropped, so that an
// idle conn holds little.
const retainBuffer = 4 << 10

// event is what the message reader found: a whole data message (OpText or
// OpBinary), or a control frame. Its data is valid until the next call.
type event struct {
	op   Opcode
	data []byte
}

// messageReader assembles frames into messages and applies the rules that
// span frames (RFC 6455 §5.4: fragmentation; §8.1: UTF-8 in text), and
// the size limit, which it enforces from each frame's header, before the
// payload is buffered. It is part of every conn, so what only some
// messages need is kept apart (assembly).
type messageReader struct {
	parser     Parser
	op         Opcode // of the message in progress; OpContinuation when none
	compressed bool
	asm        *assembly // made on first use
}

// assembly is what a message needs that does not arrive as one frame in
// one read: its fragments' bytes, the UTF-8 check across them, and the
// inflation of compressed messages. A conn whose messages each come
// whole, uncompressed, never makes one.
type assembly struct {
	text utf8Validator
	size uint64 // payload bytes of the message so far (as received)
	buf  []byte // the message so far
	// inflate, when set (permessage-deflate), inflates a compressed
	// message.
	inflate *inflation
}

// inflation is a reader's permessage-deflate: what inflates, and the
// buffer it inflates into (a conn without compression holds neither).
type inflation struct {
	// fn appends the message inflated from compressed to dst, keeping the
	// result within max.
	fn  func(dst, compressed []byte, max uint64) ([]byte, error)
	buf []byte
}

func newMessageReader(server bool) messageReader {
	return messageReader{parser: Parser{Server: server}}
}

// assembly returns r's assembly, made on first use.
func (r *messageReader) assembly() *assembly {
	if r.asm == nil {
		r.asm = new(assembly)
	}
	return r.asm
}

// next consumes frames from the front of b until it has an event, or b
// runs short; it returns the event (op 0: none yet) and the bytes
// consumed. A message that arrives as one frame whose payload is all in b
// is returned in place, unmasked in b: no copy.
func (r *messageReader) next(b []byte, max uint64) (ev event, n int, err error) {
	for {
		c, m, err := r.parser.Parse(b[n:])
		if err != nil || m == 0 {
			return ev, n, err
		}
		n += m
		if c.Opcode.IsControl() {
			if c.Opcode == OpClose {
				if _, _, err := ParseClosePayload(c.Payload); err != nil {
					return ev, n, err
				}
			}
			return event{c.Opcode, c.Payload}, n, nil
		}
		var size uint64
		if r.asm != nil {
			size = r.asm.size
		}
		if c.First {
			if c.Opcode != OpContinuation {
				size = 0 // a new message
			}
			if err := r.begin(&c, size, max); err != nil {
				return ev, n, err
			}
			if c.Fin && c.Last && size == 0 && !r.compressed {
				// The fast path: a whole message, in place.
				op := r.op
				r.op = OpContinuation
				if op == OpText && !utf8.Valid(c.Payload) {
					return ev, n, utf8Err("text message")
				}
				return event{op, c.Payload}, n, nil
			}
		}
		a := r.assembly()
		if c.First && c.Opcode != OpContinuation {
			a.size, a.buf = 0, a.buf[:0]
			a.text.Reset()
		}
		a.size += uint64(len(c.Payload))
		if r.op == OpText && !r.compressed && !a.text.Write(c.Payload) {
			return ev, n, utf8Err("text message")
		}
		a.buf = append(a.buf, c.Payload...)
		if c.Last && c.Fin {
			ev, err := r.finish(max)
			return ev, n, err
		}
	}
}

// begin applies the rules of a data frame's header: a continuation only
// inside a message, a new message only outside one, RSV1 only on a
// message's first frame, and the size limit (size: the message's bytes
// before this frame).
func (r *messageReader) begin(c *Chunk, size, max uint64) error {
	if c.Opcode == OpContinuation {
		if r.op == OpContinuation {
			return protocolErr("continuation frame with no message in progress")
		}
		if c.RSV1 {
			return protocolErr("RSV1 set on a continuation frame")
		}
	} else {
		if r.op != OpContinuation {
			return protocolErr("%v frame inside a fragmented %v message", c.Opcode, r.op)
		}
		r.op, r.compressed = c.Opcode, c.RSV1
	}
	if c.Length > max || size+c.Length > max {
		return tooBigErr("message of %d bytes and more is over the limit of %d", size+c.Length, max)
	}
	return nil
}

// finish returns the message that has ended, inflated and checked.
func (r *messageReader) finish(max uint64) (event, error) {
	a := r.asm
	op, data := r.op, a.buf
	r.op = OpContinuation
	if r.compressed {
		var err error
		in := a.inflate
		in.buf, err = in.fn(in.buf[:0], a.buf, max)
		if err != nil {
			return event{}, err
		}
		data = in.buf
		if op == OpText && !utf8.Valid(data) {
			return event{}, utf8Err("text message")
		}
	} else if op == OpText && !a.text.Complete() {
		return event{}, utf8Err("text message ends inside a code point")
	}
	return event{op, data}, nil
}

// release drops large buffers once the event from next has been handled.
func (r *messageReader) release() {
	a := r.asm
	if a == nil {
		return
	}
	if cap(a.buf) > retainBuffer {
		a.buf = nil
	}
	if in := a.inflate; in != nil && cap(in.buf) > retainBuffer {
		in.buf = nil
	}
}
