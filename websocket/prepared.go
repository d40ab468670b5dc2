package websocket

import (
	"github.com/klauspost/compress/flate"
	"sync"
)

// PreparedMessage is a message framed once for many conns: the fan-out of
// a chat line or a market tick. Its frame (a server's, unmasked) is built
// once, and its compressed frame too, the first time a conn with
// permessage-deflate needs it: compressed once, without context takeover,
// so that any conn's peer can inflate it. A PreparedMessage is immutable
// and safe to share between goroutines and loops.
type PreparedMessage struct {
	op       Opcode
	data     []byte
	frame    []byte
	once     sync.Once
	deflated []byte
}

// NewPreparedMessage frames a copy of data as one text or binary message.
func NewPreparedMessage(op Opcode, data []byte) (*PreparedMessage, error) {
	if op != OpText && op != OpBinary {
		return nil, protocolErr("a prepared message is text or binary, not %v", op)
	}
	pm := &PreparedMessage{op: op}
	pm.frame = AppendFrame(make([]byte, 0, MaxHeaderLen+len(data)), ServerHeader(op, true), data)
	pm.data = pm.frame[len(pm.frame)-len(data):]
	return pm, nil
}

// deflatedFrame is the compressed frame, built on first use.
func (pm *PreparedMessage) deflatedFrame() []byte {
	pm.once.Do(func() {
		var out sliceWriter
		w := getFlateWriter(flate.BestSpeed, &out)
		w.Write(pm.data)
		w.Flush()
		putFlateWriter(flate.BestSpeed, w)
		z := out.b[:len(out.b)-len(deflateTail)]
		h := ServerHeader(pm.op, true)
		h.RSV1 = true
		pm.deflated = AppendFrame(nil, h, z)
	})
	return pm.deflated
}
