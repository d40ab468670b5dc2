package main

import (
	"fmt"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// selectBackend maps the -backend flag to a reactor.Backend (nil: native).
func selectBackend(name string) (reactor.Backend, error) {
	switch name {
	case "native", "":
		return nil, nil
	case "gnet":
		return gnetbackend.New(), nil
	}
	return nil, fmt.Errorf("unknown backend %q (want native or gnet)", name)
}
