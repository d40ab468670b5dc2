package reactor

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"unsafe"
)

// crypto/tls keeps, for the life of a conn, the input buffers its handshake
// grew: rawInput (the ciphertext of the largest record read so far, plus
// 512 bytes) and hand (handshake messages). After a server's handshake they
// hold a ClientHello's worth each, about 2 KiB and 1.5 KiB, empty, which is
// nearly half the heap an idle TLS conn costs. crypto/tls has no way to give
// them back, so releaseTLSInput does it from outside: where the tls.Conn of
// this Go release has those fields with the types expected, it resets the
// empty ones to their zero values, as they were before the handshake;
// crypto/tls grows them again when the next record arrives. Elsewhere it
// does nothing (TestTLSIdleConnHeap notices).
//
// It reads and writes unexported fields of the standard library's type with
// unsafe: that is the cost of the saving, and why it is confined here, to
// buffers that are empty (nothing is lost), at a moment when nobody else
// uses the tls.Conn (on the loop, between reads).
var tlsInput = findTLSInput()

// tlsInputFields are the offsets of crypto/tls.Conn's input buffers, if
// found.
type tlsInputFields struct {
	rawInput, input, hand uintptr
	ok                    bool
}

func findTLSInput() tlsInputFields {
	t := reflect.TypeFor[tls.Conn]()
	offset := func(name string, want reflect.Type) (uintptr, bool) {
		f, ok := t.FieldByName(name)
		if !ok || f.Type != want || len(f.Index) != 1 {
			return 0, false
		}
		return f.Offset, true
	}
	buffer, reader := reflect.TypeFor[bytes.Buffer](), reflect.TypeFor[bytes.Reader]()
	raw, ok1 := offset("rawInput", buffer)
	in, ok2 := offset("input", reader)
	hand, ok3 := offset("hand", buffer)
	return tlsInputFields{rawInput: raw, input: in, hand: hand, ok: ok1 && ok2 && ok3}
}

// releaseTLSInput drops tc's input buffers that hold nothing. Only where
// nothing else uses tc: on the loop, between reads.
func releaseTLSInput(tc *tls.Conn) {
	f := &tlsInput
	if !f.ok || tc == nil {
		return
	}
	base := unsafe.Pointer(tc)
	raw := (*bytes.Buffer)(unsafe.Add(base, f.rawInput))
	in := (*bytes.Reader)(unsafe.Add(base, f.input))
	hand := (*bytes.Buffer)(unsafe.Add(base, f.hand))
	if raw.Len() == 0 && in.Len() == 0 {
		// input is a view of rawInput's array: both go.
		*raw = bytes.Buffer{}
		in.Reset(nil)
	}
	if hand.Len() == 0 {
		*hand = bytes.Buffer{}
	}
}
