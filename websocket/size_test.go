package websocket

import (
	"testing"
	"unsafe"
)

// TestConnSize keeps an idle conn small: a server holds them by the ten
// thousand, and what only some conns need (the handshake, a client,
// compression, deadlines, other goroutines' writes) is made apart when
// needed.
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 128 {
		t.Fatalf("Conn is %d bytes, over 128", n)
	}
	if n := unsafe.Sizeof(Parser{}); n > 40 {
		t.Fatalf("Parser is %d bytes, over 40", n)
	}
}
