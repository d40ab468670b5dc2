package proxyproto_test

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/evloop/evloop/proxyproto"
)

// Parse is called with what has arrived so far; the bytes after the header
// are data.
func ExampleParse() {
	in := []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n")
	_, _, err := proxyproto.Parse(in[:20])
	fmt.Println(err == proxyproto.ErrNeedMore)

	h, n, err := proxyproto.Parse(in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Source, "->", h.Destination)
	fmt.Printf("data: %q\n", in[n:])
	// Output:
	// true
	// 192.168.0.1:56324 -> 192.168.0.11:443
	// data: "GET / HTTP/1.1\r\n"
}

// A sender encodes the client's addresses, and TLVs in version 2.
func ExampleHeader_AppendV2() {
	h := &proxyproto.Header{
		Command:     proxyproto.Proxy,
		Source:      net.TCPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8::7]:4242")),
		Destination: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("[2001:db8::1]:443")),
		TLVs:        []proxyproto.TLV{{Type: proxyproto.TypeAuthority, Value: []byte("example.com")}},
	}
	b, _ := h.AppendV2(nil)
	back, _, _ := proxyproto.Parse(b)
	fmt.Println(len(b), back.Family, back.Source, back.Authority())
	// Output: 66 INET6 [2001:db8::7]:4242 example.com
}
