//go:build !linux

package backend

import (
	"fmt"

	"github.com/evloop/evloop/reactor"
)

func uringBackend() (reactor.Backend, error) {
	return nil, fmt.Errorf("%w: -backend uring: io_uring is Linux only", reactor.ErrUnsupported)
}
