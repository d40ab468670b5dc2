package reactor_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every
// engine must take its loops (and signal watchers) down with it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
