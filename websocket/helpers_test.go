package websocket

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// fr describes a frame for tests: a client frame (masked) unless unmasked.
type fr struct {
	op       Opcode
	fin      bool
	payload  string
	rsv      byte // 1, 2, 4: RSV1, RSV2, RSV3
	unmasked bool
	length   uint64 // a lying length field instead of len(payload), if set
	mask     [4]byte
}

// wire is a frame's bytes.
func (f fr) wire() []byte {
	h := Header{Fin: f.fin, Opcode: f.op, RSV1: f.rsv&1 != 0, RSV2: f.rsv&2 != 0, RSV3: f.rsv&4 != 0,
		Masked: !f.unmasked, Mask: f.mask}
	if h.Masked && h.Mask == ([4]byte{}) {
		h.Mask = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	}
	if f.length == 0 {
		return AppendFrame(nil, h, []byte(f.payload))
	}
	b := []byte{byte(h.Opcode)}
	if f.fin {
		b[0] |= finBit
	}
	b = append(b, 127)
	if h.Masked {
		b[1] |= maskBit
	}
	b = binary.BigEndian.AppendUint64(b, f.length)
	if h.Masked {
		b = append(b, h.Mask[:]...)
	}
	return append(b, f.payload...)
}

func frames(fs ...fr) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.wire()...)
	}
	return b
}

func text(s string) fr           { return fr{op: OpText, fin: true, payload: s} }
func binary_(s string) fr        { return fr{op: OpBinary, fin: true, payload: s} }
func ping(s string) fr           { return fr{op: OpPing, fin: true, payload: s} }
func pong(s string) fr           { return fr{op: OpPong, fin: true, payload: s} }
func cont(s string, fin bool) fr { return fr{op: OpContinuation, fin: fin, payload: s} }
func first(op Opcode, s string) fr {
	return fr{op: op, fin: false, payload: s}
}
func closeFrame(code CloseCode, reason string) fr {
	return fr{op: OpClose, fin: true, payload: string(AppendClosePayload(nil, code, reason))}
}

// runReader feeds input to a server-side message reader in the given
// pieces, as a conn would (unconsumed bytes stay in front of the next
// piece), and returns the log of what it found: one line per event, and
// "error <code>" at the first error.
func runReader(maxMessage int, deflate bool, pieces ...[]byte) string {
	return runSide(true, maxMessage, deflate, pieces...)
}

// runSide is runReader for either side's reader.
func runSide(server bool, maxMessage int, deflate bool, pieces ...[]byte) string {
	r := newMessageReader(server)
	max := uint64(DefaultMaxMessage)
	if maxMessage > 0 {
		max = uint64(maxMessage)
	}
	if deflate {
		r.parser.AllowRSV1 = true
		r.assembly().inflate = &inflation{fn: testInflate}
	}
	var log []string
	var buf []byte
	for _, p := range pieces {
		buf = append(buf, p...)
		for {
			ev, n, err := r.next(buf, max)
			if n < 0 || n > len(buf) {
				panic(fmt.Sprintf("consumed %d of %d", n, len(buf)))
			}
			if err != nil {
				return strings.Join(append(log, fmt.Sprintf("error %d", CloseCodeFor(err))), "\n")
			}
			if ev.op != 0 || ev.data != nil {
				log = append(log, describe(ev))
			}
			buf = buf[n:]
			r.release()
			if ev.op == OpClose {
				return strings.Join(log, "\n")
			}
			if n == 0 {
				break
			}
		}
	}
	return strings.Join(log, "\n")
}

func describe(ev event) string {
	if ev.op == OpClose {
		code, reason, _ := ParseClosePayload(ev.data)
		return fmt.Sprintf("close %d %q", code, reason)
	}
	if len(ev.data) > 40 {
		return fmt.Sprintf("%v %d bytes", ev.op, len(ev.data))
	}
	return fmt.Sprintf("%v %q", ev.op, ev.data)
}

// testInflate inflates without context takeover.
var testInflate = (&deflater{}).inflate
