package reactor_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// alpnUpper is upper that also says which protocol the client chose.
type alpnUpper struct{ upper }

func (alpnUpper) OnOpen(c conn.Conn) reactor.Action {
	fmt.Println("protocol:", c.(reactor.TLSConn).ConnectionState().NegotiatedProtocol)
	return reactor.None
}

// The same handler serves TLS when wrapped in a TLS server layer: it sees
// plaintext, and the negotiated state through reactor.TLSConn.
func ExampleNewTLSServer() {
	cert, pool := exampleCert()
	layer := reactor.NewTLSServer(alpnUpper{}, &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"upper/1"},
	}, reactor.TLSOptions{})
	e, err := reactor.Start(layer, []string{"tcp://127.0.0.1:0"}, reactor.WithLoops(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Stop(context.Background())

	c, err := tls.Dial("tcp", e.Addrs()[0].String(), &tls.Config{
		RootCAs: pool, ServerName: "example.test", NextProtos: []string{"upper/1"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	c.Write([]byte("hello, tls"))
	reply := make([]byte, 10)
	io.ReadFull(c, reply)
	fmt.Println(string(reply))
	// Output:
	// protocol: upper/1
	// HELLO, TLS
}

// exampleCert is a throwaway self-signed certificate for example.test.
func exampleCert() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), DNSNames: []string{"example.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
