package backend

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/evloop/evloop/internal/selfsigned"
	"github.com/evloop/evloop/reactor"
)

// TLSOptions returns the engine option that serves the tls:// and
// tls+unix:// addresses among addrs: with the -cert and -key PEM files, or,
// without them, with an ephemeral self-signed certificate whose SHA-256
// fingerprint is written to w (so `openssl s_client` can be tried at once).
// It returns nothing when no address asks for TLS.
func (f *Flags) TLSOptions(addrs []string, w io.Writer) ([]reactor.Option, error) {
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("-cert and -key go together")
	}
	wantTLS := false
	for _, a := range addrs {
		if isTLS(a) {
			wantTLS = true
		}
	}
	if !wantTLS {
		if f.Cert != "" {
			return nil, errors.New("-cert and -key serve tls:// addresses, and -addr has none")
		}
		return nil, nil
	}
	var cert tls.Certificate
	var err error
	if f.Cert != "" {
		cert, err = tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("-cert/-key: %w", err)
		}
	} else {
		cert, err = selfsigned.New()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(w, "no -cert/-key: serving an ephemeral self-signed certificate for localhost, 127.0.0.1, ::1\nSHA-256 fingerprint %s\n", selfsigned.Fingerprint(cert))
	}
	return []reactor.Option{reactor.WithTLS(&tls.Config{Certificates: []tls.Certificate{cert}})}, nil
}

func isTLS(addr string) bool {
	return strings.HasPrefix(strings.ToLower(addr), "tls://") || strings.HasPrefix(strings.ToLower(addr), "tls+unix://")
}

// Listening is the address to print for the i-th bound address of an
// engine started on addrs: network://address, with the tls:// scheme kept
// for TLS listeners (the engine binds them as tcp or unix).
func Listening(addrs []string, bound []net.Addr, i int) string {
	a := bound[i]
	scheme := a.Network()
	if len(addrs) == len(bound) && isTLS(addrs[i]) {
		scheme = "tls"
		if a.Network() == "unix" {
			scheme = "tls+unix"
		}
	}
	return scheme + "://" + a.String()
}
