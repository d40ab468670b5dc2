module github.com/evloop/evloop

go 1.24.0

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/klauspost/compress v1.17.9
	github.com/panjf2000/gnet/v2 v2.10.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.38.0
)

require (
	github.com/cloudflare/tableflip v1.2.3 // indirect
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sync v0.11.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
