//go:build linux

package uringbackend

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// An idle conn costs what its struct costs: keep it in the native conn's
// size class (176 bytes), so that idle conns hold no more than native's.
func TestConnStructSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(uconn{}), uintptr(176))
}
