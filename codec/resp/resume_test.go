package resp

import (
	"bytes"
	"fmt"
	"strconv"
	"testing"
)

// pieceSize is what a conn's read brings, as in the measurements.
const pieceSize = 64 << 10

// manyArgs is an MGET of n keys ("k0", "k1", ...) as a client sends it.
func manyArgs(n int) []byte {
	args := make([][]byte, n)
	args[0] = []byte("MGET")
	for i := 1; i < n; i++ {
		args[i] = []byte("k" + strconv.Itoa(i))
	}
	return AppendCommand(nil, args...)
}

// feed gives wire to decode the way a conn's buffer grows, a piece at a
// time, each call seeing everything so far, until a request is complete.
func feed(t testing.TB, wire []byte, piece int, decode func([]byte) (int, error)) int {
	calls := 0
	for end := min(piece, len(wire)); ; end = min(end+piece, len(wire)) {
		calls++
		n, err := decode(wire[:end])
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if n != len(wire) {
				t.Fatalf("request of %d bytes consumed as %d", len(wire), n)
			}
			return calls
		}
		if end == len(wire) {
			t.Fatal("complete request not decoded")
		}
	}
}

// TestResumeIsLinear: with a Progress, a request arriving in many reads is
// examined a bounded number of times per argument (once when checked, once
// when collected), however many reads it takes, where parsing from the
// first byte each time examines the first arguments once per read.
func TestResumeIsLinear(t *testing.T) {
	d, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10_000, 100_000} {
		wire := manyArgs(n)
		var p Progress
		var args [][]byte
		calls := feed(t, wire, pieceSize, func(b []byte) (int, error) {
			var k int
			var err error
			args, k, err = d.DecodeCommandFrom(b, args, &p)
			return k, err
		})
		if len(args) != n || string(args[0]) != "MGET" || string(args[n-1]) != "k"+strconv.Itoa(n-1) {
			t.Fatalf("%d args decoded, want %d", len(args), n)
		}
		if p.Pending() {
			t.Fatal("progress kept after the request completed")
		}
		// Each read may stop inside one argument and examine it again.
		if limit := 2*n + calls; p.steps > limit {
			t.Fatalf("%d args in %d reads: %d steps, want at most %d", n, calls, p.steps, limit)
		}
		if calls < 2 {
			t.Fatalf("%d args came in %d reads: the test needs several", n, calls)
		}
	}

	// An inline line, searched for its end once.
	line := append(bytes.Repeat([]byte("GET k "), 10_000), '\n')
	var p Progress
	calls := feed(t, line, 1000, func(b []byte) (int, error) {
		_, k, err := d.DecodeCommandFrom(b, nil, &p)
		return k, err
	})
	if p.steps > len(line) {
		t.Fatalf("inline line of %d bytes in %d reads: %d bytes searched", len(line), calls, p.steps)
	}
}

// TestResumeWrongBuffer: a Progress shown another request (a caller's
// mistake) starts over rather than trusting what it checked before.
func TestResumeWrongBuffer(t *testing.T) {
	d, _ := NewDecoder(Config{})
	wire := manyArgs(1000)
	var p Progress
	if _, n, err := d.DecodeCommandFrom(wire[:len(wire)/2], nil, &p); n != 0 || err != nil || !p.Pending() {
		t.Fatalf("half a request: n %d, err %v, pending %v", n, err, p.Pending())
	}
	for _, other := range [][]byte{
		AppendCommand(nil, []byte("PING")),
		[]byte("PING\r\n"),
		append(bytes.Repeat([]byte("*1\r\n$1\r\nx\r\n"), 1), manyArgs(2000)...),
	} {
		q := p
		args, n, err := d.DecodeCommandFrom(other, nil, &q)
		want, wn, werr := d.DecodeCommand(other, nil)
		if n != wn || fmt.Sprint(err) != fmt.Sprint(werr) || fmt.Sprintf("%q", args) != fmt.Sprintf("%q", want) {
			t.Fatalf("%.20q: %d %v, want %d %v", other, n, err, wn, werr)
		}
	}
}

// BenchmarkManyArgs parses one MGET of 10k, 100k and 1M arguments arriving
// in 64 KiB reads, each read parsing what the conn has buffered so far:
// resume keeps a Progress, reparse starts from the first byte each time
// (the decoder before Progress).
func BenchmarkManyArgs(b *testing.B) {
	d, err := NewDecoder(Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		wire := manyArgs(n)
		args := make([][]byte, 0, n)
		for _, mode := range []string{"resume", "reparse"} {
			b.Run(fmt.Sprintf("args=%d/%s", n, mode), func(b *testing.B) {
				b.SetBytes(int64(len(wire)))
				for b.Loop() {
					var p Progress
					feed(b, wire, pieceSize, func(buf []byte) (int, error) {
						var k int
						var err error
						if mode == "resume" {
							args, k, err = d.DecodeCommandFrom(buf, args, &p)
						} else {
							args, k, err = d.DecodeCommand(buf, args)
						}
						return k, err
					})
				}
			})
		}
	}
}
