package codec_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/evloop/evloop/codec"
)

func ExampleLine_DecodeBytes() {
	lines := codec.NewLine(0)
	buf := []byte("PING\r\nECHO hi\nPART")
	for {
		frame, n, err := lines.DecodeBytes(buf)
		if err != nil || n == 0 {
			break // n == 0: the rest is an incomplete line
		}
		fmt.Printf("%q\n", frame)
		buf = buf[n:]
	}
	fmt.Printf("left %q\n", buf)
	// Output:
	// "PING"
	// "ECHO hi"
	// left "PART"
}

func ExampleLengthField() {
	// A 2-byte big-endian body length, stripped from the decoded frame.
	lf, err := codec.NewLengthField(codec.LengthFieldConfig{Size: 2, Strip: 2, MaxFrame: 1 << 10})
	if err != nil {
		log.Fatal(err)
	}
	wire, _ := lf.Encode(nil, []byte("hello"))
	fmt.Printf("% x\n", wire)

	frame, n, _ := lf.DecodeBytes(wire)
	fmt.Printf("%q %d\n", frame, n)

	_, _, err = lf.DecodeBytes([]byte{0xff, 0xff})
	fmt.Println(errors.Is(err, codec.ErrFrameTooLarge))
	// Output:
	// 00 05 68 65 6c 6c 6f
	// "hello" 7
	// true
}
