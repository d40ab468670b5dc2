// Package websocket speaks the WebSocket protocol (RFC 6455) and its
// permessage-deflate extension (RFC 7692) on evloop's reactor.
//
// The package is built in layers, each usable on its own:
//
//   - frames (frame.go, mask.go, write.go): an incremental frame parser
//     that works on a conn's inbound bytes in place, whatever the split
//     points, and a frame writer (server frames unmasked, client frames
//     masked with crypto-random keys);
//   - the protocol's rules (reader.go, close.go, utf8.go): fragmentation,
//     control frames, close codes and reasons, UTF-8 in text messages
//     checked as it arrives, and the message size limit, each violation
//     mapped to the close code RFC 6455 §7.4.1 gives it (1002, 1007, 1009);
//   - the opening handshake (handshake.go, request.go, extension.go) as
//     functions of the request's headers, free of any HTTP server, and a
//     small bounded reader of a request head straight off a conn;
//   - a reactor.Handler that serves WebSocket conns (server.go, conn.go):
//     messages to the application's Handler, ping answered with pong, the
//     closing handshake, keepalive pings, and fan-out of a PreparedMessage
//     framed once for many conns;
//   - the same Server as an http1.Handler (upgrade.go): one address serves
//     pages and a WebSocket endpoint, the conn handed over at the 101;
//   - a client (client.go): Dial for ws:// and wss:// on an engine's loops;
//   - permessage-deflate (deflate.go, extension.go) with
//     klauspost/compress/flate, measurably faster than compress/flate and
//     half its memory per compressor.
//
// A WebSocket Conn belongs to one loop, as a conn.Conn does: methods marked
// "loop only" run inside the Handler's callbacks; those marked "any
// goroutine" hand their work to the conn's loop.
package websocket
