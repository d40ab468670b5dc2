package http1

import (
	"testing"
	"unsafe"
)

// TestConnStateSize: an idle keep-alive conn holds only its connState (a
// chunked body's decoder is made per request), so it must stay small:
// idle memory per conn is a target. 256 leaves room for the upgrade
// hand-off's fields.
func TestConnStateSize(t *testing.T) {
	if n := unsafe.Sizeof(connState{}); n > 256 {
		t.Fatalf("connState is %d bytes, want <= 256", n)
	}
}
