package http1

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/reactor"
)

// TestNetHTTPAdapterDeepPipeline: a client that pipelines many more
// requests than MaxPipeline (and than the internet profile's MaxInbound
// holds), reading its responses as they come, gets them all, in order.
// Two faults made it stall: serve stopped parsing at MaxPipeline, then took
// the responses the workers it yielded to had finished, and returned with
// requests buffered and nothing left to wake the conn; and past
// MaxPipeline the conn read on, so the requests behind piled up in its
// inbound buffer until MaxInbound closed it. On gnet, which cannot pause
// reading, they wait within MaxInbound: the test raises it there.
func TestNetHTTPAdapterDeepPipeline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, opts []reactor.Option) {
		opts = append(opts, reactor.WithInternetProfile())
		if isGnet(opts) {
			opts = append(opts, reactor.WithMaxInbound(4<<20))
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) })
		addr := serve(t, NewServer(NetHTTP(h, NetHTTPConfig{}), Config{}), opts)
		c := dialRaw(t, addr)
		require.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
		const n = 20000 // 40 bytes each: 800 KB, three times MaxInbound
		go func() {
			var b strings.Builder
			for i := range n {
				fmt.Fprintf(&b, "GET /%07d HTTP/1.1\r\nHost: a\r\n\r\n", i)
			}
			io.WriteString(c, b.String())
		}()
		br := bufio.NewReader(c)
		for i := range n {
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "response %d", i)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err, "response %d", i)
			require.Equal(t, fmt.Sprintf("/%07d", i), string(body))
		}
	})
}
