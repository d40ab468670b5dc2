package resp_test

import (
	"fmt"
	"log"

	"github.com/evloop/evloop/codec/resp"
)

// A server loop over one batch of pipelined requests, as an OnTraffic
// would run it over c.Peek(-1): decode each command, append its reply to
// one buffer, and consume the bytes the decoded commands span.
func ExampleDecoder_DecodeCommand() {
	dec, err := resp.NewDecoder(resp.Config{})
	if err != nil {
		log.Fatal(err)
	}
	batch := []byte("*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\nPING\r\n*1\r\n$4\r\nPI")

	var args [][]byte // reused: no allocation per command once grown
	var out []byte
	done := 0
	for {
		var n int
		args, n, err = dec.DecodeCommand(batch[done:], args)
		if err != nil {
			out = resp.AppendError(out, "ERR Protocol error")
			break
		}
		if n == 0 {
			break // the rest is an incomplete request: wait for more bytes
		}
		done += n
		switch string(args[0]) {
		case "PING":
			out = resp.AppendSimple(out, "PONG")
		case "ECHO":
			out = resp.AppendBulk(out, args[1])
		}
	}
	fmt.Printf("replies %q, consumed %d of %d bytes\n", out, done, len(batch))
	// Output: replies "$5\r\nhello\r\n+PONG\r\n", consumed 31 of 41 bytes
}
