package reactor

type nativeBackend struct{}

func (nativeBackend) Name() string { return "native" }

func (nativeBackend) Start(h Handler, addrs []string, o *Options) (Engine, error) {
	return nil, ErrUnsupported
}
