//go:build linux

package backend

import (
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/uringbackend"
)

func uringBackend() (reactor.Backend, error) { return uringbackend.New(), nil }
