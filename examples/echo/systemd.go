package main

// systemd:// addresses (socket activation, as echo.socket does) are served
// only by programs that import this package.
import _ "github.com/evloop/evloop/reactor/systemd"
