package reactor

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Without package reactor/systemd imported, a systemd:// address is refused
// with an error that names the import.
func TestSystemdAddressWithoutTheImport(t *testing.T) {
	old := activationFiles.Swap(nil) // the external tests import it
	defer activationFiles.Store(old)
	_, err := Start(BaseHandler{}, []string{"systemd://web"})
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorContains(t, err, `import _ "github.com/evloop/evloop/reactor/systemd"`)
	t.Log(err)
}
