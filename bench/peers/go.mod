module github.com/evloop/evloop/bench/peers

go 1.26.0

require (
	github.com/evloop/evloop v0.0.0
	github.com/lesismal/nbio v1.6.8
	github.com/panjf2000/gnet/v2 v2.10.0
	github.com/valyala/fasthttp v1.79.0
)

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/lesismal/llib v1.2.2 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sync v0.13.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)

replace github.com/evloop/evloop => ../..
