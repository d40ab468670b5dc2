// Package backend maps the examples' shared flags (-backend, -poller,
// -loops) to engine options.
package backend

import (
	"fmt"
	"log/slog"

	"github.com/evloop/evloop/poller"
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

// Options turns the examples' common flags (-loops, -backend, -poller) into
// engine options, logging to logger.
func Options(loops int, backendName, pollerName string, logger *slog.Logger) ([]reactor.Option, error) {
	kind, err := poller.ParseKind(pollerName)
	if err != nil {
		return nil, err
	}
	be, err := Select(backendName)
	if err != nil {
		return nil, err
	}
	opts := []reactor.Option{reactor.WithLoops(loops), reactor.WithPoller(kind), reactor.WithLogger(logger)}
	if be != nil {
		opts = append(opts, reactor.WithBackend(be))
	}
	return opts, nil
}
