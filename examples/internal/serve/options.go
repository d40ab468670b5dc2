package serve

import (
	"io"
	"log/slog"

	"github.com/evloop/evloop/examples/internal/backend"
	"github.com/evloop/evloop/reactor"
)

// EngineOptions are the options every example's engine starts with, in
// this order: the backend, loops and poller (shared), TLS for addrs'
// tls:// addresses (a generated certificate's fingerprint goes to stderr),
// and the bounds and PROXY trust of life (nil: none). An example appends
// its own after them, so they override the profile's.
func EngineOptions(shared *backend.Flags, life *Flags, addrs []string, logger *slog.Logger, stderr io.Writer) ([]reactor.Option, error) {
	opts, err := shared.Options(logger)
	if err != nil {
		return nil, err
	}
	tlsOpts, err := shared.TLSOptions(addrs, stderr)
	if err != nil {
		return nil, err
	}
	opts = append(opts, tlsOpts...)
	if life != nil {
		more, err := life.Options()
		if err != nil {
			return nil, err
		}
		opts = append(opts, more...)
	}
	return opts, nil
}
