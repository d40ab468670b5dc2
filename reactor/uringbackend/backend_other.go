//go:build !linux

package uringbackend

import (
	"fmt"
	"runtime"

	"github.com/evloop/evloop/reactor"
)

// Backend starts engines on io_uring, which only Linux has: elsewhere
// Start fails with reactor.ErrUnsupported.
type Backend struct{}

// New returns the io_uring backend, for reactor.WithBackend.
func New() reactor.Backend { return Backend{} }

// Name returns "uring".
func (Backend) Name() string { return "uring" }

// Start fails: io_uring is Linux's.
func (Backend) Start(reactor.Handler, []reactor.ListenSpec, *reactor.Options) (reactor.Engine, error) {
	return nil, fmt.Errorf("%w: the io_uring backend needs Linux, not %s", reactor.ErrUnsupported, runtime.GOOS)
}
