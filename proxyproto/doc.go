// Package proxyproto reads and writes PROXY protocol headers, versions 1
// (text) and 2 (binary), as HAProxy's specification defines them
// (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
//
// Parse works on a nonblocking feed of bytes, such as an event loop's inbound
// buffer: it is called again with more bytes while it reports ErrNeedMore,
// never reads past the header, and never keeps a reference to its input. It
// is strict (anything that does not match the specification exactly is an
// error) and bounded (a version 1 line is at most 107 bytes, a version 2
// header at most 16 bytes plus Parser.MaxV2Length, with at most
// Parser.MaxTLVs TLVs, kept in a slice of their exact count). Bytes that cannot begin
// a header are reported with ErrNoSignature as soon as the first of them
// arrives, so a receiver that makes the header optional can pass them on as
// data.
//
// Header.AppendV1 and Header.AppendV2 encode a header, for a sender.
//
// The package knows nothing of sockets or event loops; the reactor package
// builds its PROXY layer on it. A server behind a balancer does not call
// this package: it listens on an address with ?proxy=required (package
// reactor). Start here with Parse (or a Parser with bounds of its own, such
// as MaxTLVs) to read a header, and Header.AppendV2 to send one; ExampleParse
// and ExampleHeader_AppendV2 are runnable.
package proxyproto
