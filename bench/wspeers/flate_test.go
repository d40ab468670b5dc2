package main

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// BenchmarkFlate weighs the compression library for permessage-deflate:
// the standard library's compress/flate against klauspost/compress/flate,
// at BestSpeed (what the websocket package uses), on a 1 KiB chat line
// and a 16 KiB JSON document, each compressed as one message with a fresh
// (reset) compressor and a sync flush, as a prepared message is. It
// reports the compressed size per message as "bytes/msg", and inflates
// with each library too.
func BenchmarkFlate(b *testing.B) {
	var js strings.Builder
	for i := 0; js.Len() < 16<<10; i++ {
		fmt.Fprintf(&js, `{"id":%d,"user":"member-%d","text":"a line to every member of the room","ts":%d},`, i, i%97, 1700000000+i*7)
	}
	inputs := map[string][]byte{
		"chat-1KiB":  []byte(strings.Repeat("a broadcast line to every member of the room; ", 30)[:1024]),
		"json-16KiB": []byte(js.String()[:16<<10]),
	}
	type lib struct {
		name   string
		writer func(io.Writer) (io.WriteCloser, func(io.Writer), func() error)
		reader func(io.Reader) io.ReadCloser
	}
	libs := []lib{
		{"stdlib", func(w io.Writer) (io.WriteCloser, func(io.Writer), func() error) {
			fw, _ := stdflate.NewWriter(w, stdflate.BestSpeed)
			return fw, fw.Reset, fw.Flush
		}, stdflate.NewReader},
		{"klauspost", func(w io.Writer) (io.WriteCloser, func(io.Writer), func() error) {
			fw, _ := kflate.NewWriter(w, kflate.BestSpeed)
			return fw, fw.Reset, fw.Flush
		}, kflate.NewReader},
	}
	for _, name := range []string{"chat-1KiB", "json-16KiB"} {
		in := inputs[name]
		for _, l := range libs {
			var out bytes.Buffer
			w, reset, flush := l.writer(&out)
			b.Run(name+"/deflate/"+l.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				for i := 0; i < b.N; i++ {
					out.Reset()
					reset(&out)
					w.Write(in)
					flush()
				}
				b.ReportMetric(float64(out.Len()-4), "bytes/msg")
			})
			compressed := append([]byte(nil), out.Bytes()...)
			b.Run(name+"/inflate/"+l.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				r := l.reader(bytes.NewReader(compressed))
				buf := make([]byte, len(in))
				for i := 0; i < b.N; i++ {
					r.(stdflate.Resetter).Reset(bytes.NewReader(compressed), nil)
					io.ReadFull(r, buf)
				}
			})
		}
	}
}
