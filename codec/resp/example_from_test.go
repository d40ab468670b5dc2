package resp_test

import (
	"fmt"
	"log"

	"github.com/evloop/evloop/codec/resp"
)

// A request that straddles reads: a server keeps one Progress per conn (in
// its Context) and passes the conn's buffered bytes again as more arrive.
// The arguments already checked are not parsed again, so the work is linear
// in the request however many reads it takes; once a request is returned,
// the Progress is ready for the next one.
func ExampleDecoder_DecodeCommandFrom() {
	dec, err := resp.NewDecoder(resp.Config{})
	if err != nil {
		log.Fatal(err)
	}
	request := "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
	var p resp.Progress
	var args [][]byte
	for _, arrived := range []int{9, 22, len(request)} { // three reads
		buf := []byte(request[:arrived]) // the conn's buffered bytes so far
		var n int
		args, n, err = dec.DecodeCommandFrom(buf, args, &p)
		if err != nil {
			log.Fatal(err)
		}
		if n == 0 {
			fmt.Printf("%d bytes: incomplete, pending %v\n", arrived, p.Pending())
			continue
		}
		fmt.Printf("%d bytes: %q, consumed %d, pending %v\n", arrived, args, n, p.Pending())
	}
	// Output:
	// 9 bytes: incomplete, pending true
	// 22 bytes: incomplete, pending true
	// 33 bytes: ["SET" "key" "value"], consumed 33, pending false
}
