// Package backend maps the examples' -backend flag to a reactor.Backend.
package backend

import (
	"fmt"

	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/reactor/gnetbackend"
)

// Select returns the backend named by the -backend flag: nil for "native"
// (the default), gnetbackend.New() for "gnet".
func Select(name string) (reactor.Backend, error) {
	switch name {
	case "native", "":
		return nil, nil
	case "gnet":
		return gnetbackend.New(), nil
	}
	return nil, fmt.Errorf("unknown backend %q (want native or gnet)", name)
}
