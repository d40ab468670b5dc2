package http1

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine outlives them (the
// gnet backend's ants pool lives for the process and is ignored).
func TestMain(m *testing.M) {
	if spec := os.Getenv(idleClientEnv); spec != "" {
		idleClient(spec) // the child of TestServerIdleConns; exits
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
		goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
	)
}
