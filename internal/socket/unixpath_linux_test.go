package socket

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// An abstract name has no file: a file named like it is neither checked
// nor removed.
func TestAbstractNameIsNoFile(t *testing.T) {
	t.Chdir(t.TempDir())
	require.NoError(t, os.WriteFile("@x", []byte("keep"), 0o600))
	require.True(t, IsAbstract("@x"))
	require.NoError(t, RemoveStaleUnixSocket("@x"))
	require.Nil(t, BoundUnixPath("@x"))
	_, err := os.Stat("@x")
	require.NoError(t, err)
}
