//go:build !linux

package uringbackend

import (
	"fmt"
	"runtime"

	"github.com/evloop/evloop/reactor"
)

// Start fails: io_uring is Linux's, elsewhere the backend is
// reactor.ErrUnsupported.
func (Backend) Start(reactor.Handler, []reactor.ListenSpec, *reactor.Options) (reactor.Engine, error) {
	return nil, fmt.Errorf("%w: the io_uring backend needs Linux, not %s", reactor.ErrUnsupported, runtime.GOOS)
}
