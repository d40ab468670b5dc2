module github.com/evloop/evloop/bench/wspeers

go 1.24.0

replace github.com/evloop/evloop => ../..

require (
	github.com/coder/websocket v1.8.15
	github.com/evloop/evloop v0.0.0-00010101000000-000000000000
	github.com/gorilla/websocket v1.5.3
	github.com/klauspost/compress v1.18.0
	github.com/lesismal/nbio v1.6.8
	github.com/lxzan/gws v1.8.9
)

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/dolthub/maphash v0.1.0 // indirect
	github.com/lesismal/llib v1.2.2 // indirect
	golang.org/x/crypto v0.0.0-20210513122933-cd7d49e622d5 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
