package http1

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestResponseServerField: the handler's Server field replaces the
// server's (a net/http handler that sets one sends it once, as under
// http.Server); without one the server's goes out.
func TestResponseServerField(t *testing.T) {
	req := &Request{Method: []byte("GET"), Minor: 1}
	var r response
	for _, tc := range []struct{ field, want string }{{"", "Server: evloop\r\n"}, {"server", "server: mine\r\n"}} {
		r.reset(req, false)
		if tc.field != "" {
			r.addField(tc.field, "mine")
		}
		out := string(r.appendEnd(nil, []byte("Server: evloop\r\n")))
		require.Equal(t, 1, strings.Count(strings.ToLower(out), "\r\nserver: "), "%q", out)
		require.Contains(t, out, tc.want)
	}
}
