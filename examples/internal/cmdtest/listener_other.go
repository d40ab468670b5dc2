//go:build !linux

package cmdtest

import (
	"errors"
	"fmt"
	"runtime"
)

// HoldsListener needs /proc: elsewhere it says so, and the tests that use
// it fail with that reason (they run on Linux).
func HoldsListener(pid, port int) (bool, error) {
	return false, fmt.Errorf("cmdtest.HoldsListener: %w on %s (it reads /proc)", errors.ErrUnsupported, runtime.GOOS)
}
