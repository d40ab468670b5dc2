package evloop_test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// An abstract address has no file: a file named like it in the working
// directory is neither refused at Start nor removed at Stop. gnet would
// remove it at bind and at stop, so it refuses abstract addresses.
func TestUnixAbstractNameLeavesFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Chdir(t.TempDir())
		name := fmt.Sprintf("@evloop-abstract-%d-%s", os.Getpid(), b.name)
		require.NoError(t, os.WriteFile(name, []byte("precious"), 0o600))
		e, err := reactor.Start(newRecorder(), []string{"unix://" + name}, append(b.opts, reactor.WithLogger(discardLogger()))...)
		if isGnet(b) {
			require.ErrorIs(t, err, reactor.ErrUnsupported)
		} else {
			require.NoError(t, err)
			c, err := net.Dial("unix", name)
			require.NoError(t, err, "the abstract name is served")
			c.Close()
			stop(t, e)
		}
		data, err := os.ReadFile(name)
		require.NoError(t, err, "the file named like the abstract address was removed")
		require.Equal(t, "precious", string(data))
	})
}

func isGnet(b backend) bool { return strings.HasPrefix(b.name, "gnet") }
