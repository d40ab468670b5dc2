package resp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/evloop/evloop/codec"
)

// sentinel is the codec error err wraps, or err itself.
func sentinel(err error) error {
	for _, s := range []error{codec.ErrFrameTooLarge, codec.ErrMalformed, codec.ErrConfig} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// result is what a stream of RESP bytes decodes to: the commands (each
// a list of arguments, possibly empty) and the error that ended it.
type result struct {
	cmds [][]string
	err  error
}

func (r result) String() string {
	return fmt.Sprintf("%q err=%v", r.cmds, r.err)
}

func (r result) equal(o result) bool {
	if len(r.cmds) != len(o.cmds) || (r.err == nil) != (o.err == nil) {
		return false
	}
	for i := range r.cmds {
		if strings.Join(r.cmds[i], "\x00") != strings.Join(o.cmds[i], "\x00") || len(r.cmds[i]) != len(o.cmds[i]) {
			return false
		}
	}
	if r.err == nil {
		return true
	}
	// The same sentinel and the same reason, whatever the arrival pattern.
	var a, b *ProtocolError
	return errors.As(r.err, &a) && errors.As(o.err, &b) && a.Reason == b.Reason && sentinel(a) == sentinel(b)
}

// pendingLimit is the most bytes d may leave buffered without either
// completing a request or failing: a request of MaxRequest bytes plus the
// header of the bulk string that would cross it ('$', '-', 18 digits,
// '\r'), or an inline line one byte short of MaxInline.
func pendingLimit(d *Decoder) int {
	return max(d.cfg.MaxRequest+21, d.cfg.MaxInline-1)
}

// stream feeds pieces to d as a conn would receive them: each piece is
// appended to what is still buffered, complete requests are decoded and
// consumed, and the rest waits for the next piece. It checks the decoder's
// contract at every step.
func stream(t testing.TB, d *Decoder, pieces ...[]byte) result {
	t.Helper()
	return streamWith(t, d, true, pieces...)
}

// streamWith is stream with DecodeCommandFrom and a Progress kept across
// pieces (resume), or with DecodeCommand, which parses each request from
// its start every time.
func streamWith(t testing.TB, d *Decoder, resume bool, pieces ...[]byte) result {
	t.Helper()
	var r result
	var buffered []byte
	var args [][]byte
	var progress Progress
	for _, p := range pieces {
		// Fresh memory each time, as a conn's buffer may move.
		buffered = append(append([]byte(nil), buffered...), p...)
		for {
			var n int
			var err error
			if resume {
				args, n, err = d.DecodeCommandFrom(buffered, args, &progress)
			} else {
				args, n, err = d.DecodeCommand(buffered, args)
			}
			if n < 0 || n > len(buffered) {
				t.Fatalf("DecodeCommand consumed %d of %d bytes", n, len(buffered))
			}
			if err != nil {
				var perr *ProtocolError
				if n != 0 || !errors.As(err, &perr) || (sentinel(err) != codec.ErrMalformed && sentinel(err) != codec.ErrFrameTooLarge) {
					t.Fatalf("DecodeCommand error %v (%T) with n=%d", err, err, n)
				}
				r.err = err
				return r
			}
			if n == 0 {
				if len(args) != 0 {
					t.Fatalf("incomplete request returned %d args", len(args))
				}
				break
			}
			checkArgs(t, d, buffered[:n], args)
			cmd := make([]string, len(args))
			for i, a := range args {
				cmd[i] = string(a)
			}
			r.cmds = append(r.cmds, cmd)
			buffered = buffered[n:]
		}
		if len(buffered) > pendingLimit(d) {
			t.Fatalf("%d bytes left buffered, limit %d", len(buffered), pendingLimit(d))
		}
	}
	return r
}

// checkArgs checks that args are within the limits and alias req, the
// request's bytes (but quoted inline ones, which are unescaped), without
// room to append over them.
func checkArgs(t testing.TB, d *Decoder, req []byte, args [][]byte) {
	t.Helper()
	if len(args) > d.cfg.MaxArgs {
		t.Fatalf("%d args, limit %d", len(args), d.cfg.MaxArgs)
	}
	if len(req) > max(d.cfg.MaxRequest, d.cfg.MaxInline) {
		t.Fatalf("request of %d bytes, limits %d and %d", len(req), d.cfg.MaxRequest, d.cfg.MaxInline)
	}
	for _, a := range args {
		if len(a) > max(d.cfg.MaxBulk, d.cfg.MaxInline) {
			t.Fatalf("arg of %d bytes, limits %d and %d", len(a), d.cfg.MaxBulk, d.cfg.MaxInline)
		}
		if cap(a) != len(a) {
			t.Fatalf("arg %q has spare capacity %d", a, cap(a)-len(a))
		}
		quotedInline := len(req) > 0 && req[0] != '*' && bytes.ContainsAny(req, "\"'")
		if len(a) > 0 && !aliases(req, a) && !quotedInline {
			t.Fatalf("arg %q does not alias the request %q", a, req)
		}
	}
}

// aliases reports whether a is a subslice of buf.
func aliases(buf, a []byte) bool {
	for off := 0; off+len(a) <= len(buf); off++ {
		if &buf[off] == &a[0] {
			return true
		}
	}
	return false
}

// checkArrivals decodes wire whole, split in two at every byte, and
// byte by byte, and wants the same result each time; it returns it.
func checkArrivals(t testing.TB, d *Decoder, wire []byte) result {
	t.Helper()
	whole := stream(t, d, wire)
	for split := 0; split <= len(wire); split++ {
		if got := stream(t, d, wire[:split], wire[split:]); !got.equal(whole) {
			t.Fatalf("split at %d: %v; whole: %v", split, got, whole)
		}
	}
	bytewise := make([][]byte, len(wire))
	for i := range wire {
		bytewise[i] = wire[i : i+1]
	}
	if got := stream(t, d, bytewise...); !got.equal(whole) {
		t.Fatalf("byte by byte: %v; whole: %v", got, whole)
	}
	// The frame-level Decoder agrees on where each request ends.
	rest := wire
	for _, cmd := range whole.cmds {
		_, cn, _ := d.DecodeCommand(rest, nil)
		frame, n, err := d.DecodeBytes(rest)
		if err != nil || n != cn || !bytes.Equal(frame, rest[:n]) {
			t.Fatalf("DecodeBytes = %q, %d, %v; DecodeCommand of %q spans %d", frame, n, err, cmd, cn)
		}
		rest = rest[n:]
	}
	if _, n, err := d.DecodeBytes(rest); n != 0 || (err == nil) != (whole.err == nil) {
		t.Fatalf("DecodeBytes after the requests: n=%d err=%v, want error %v", n, err, whole.err)
	}
	return whole
}

func cmds(c ...[]string) [][]string { return c }

func TestDecode(t *testing.T) {
	small := Config{MaxBulk: 8, MaxArgs: 3, MaxInline: 16, MaxRequest: 48}
	for _, tc := range []struct {
		name    string
		cfg     Config
		wire    string
		want    [][]string
		wantErr error
		reason  string
	}{
		{"ping", Config{}, "*1\r\n$4\r\nPING\r\n", cmds([]string{"PING"}), nil, ""},
		{"set", Config{}, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", cmds([]string{"SET", "key", "value"}), nil, ""},
		{"binary bulk", Config{}, "*2\r\n$4\r\nECHO\r\n$6\r\na\r\n\x00*$\r\n", cmds([]string{"ECHO", "a\r\n\x00*$"}), nil, ""},
		{"empty bulk", Config{}, "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", cmds([]string{"GET", ""}), nil, ""},
		{"pipeline", Config{}, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nQUIT\r\n",
			cmds([]string{"PING"}, []string{"GET", "k"}, []string{"QUIT"}), nil, ""},
		{"incomplete tail waits", Config{}, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\n", cmds([]string{"PING"}), nil, ""},
		{"empty array", Config{}, "*0\r\n*1\r\n$1\r\na\r\n", cmds([]string{}, []string{"a"}), nil, ""},
		{"null array", Config{}, "*-1\r\n", cmds([]string{}), nil, ""},
		{"inline", Config{}, "PING\r\n", cmds([]string{"PING"}), nil, ""},
		{"inline lf", Config{}, "PING\n", cmds([]string{"PING"}), nil, ""},
		{"inline words", Config{}, "  SET \t key  value\r\r\n", cmds([]string{"SET", "key", "value"}), nil, ""},
		{"inline double quotes", Config{}, "SET k \"a b\"\r\n", cmds([]string{"SET", "k", "a b"}), nil, ""},
		{"inline escapes", Config{}, "ECHO \"\\x41\\n\\r\\t\\b\\a\\\"\\\\\\q\\xZZ\"\n", cmds([]string{"ECHO", "A\n\r\t\b\a\"\\qxZZ"}), nil, ""},
		{"inline single quotes", Config{}, "SET 'k k' 'it\\'s \\n'\n", cmds([]string{"SET", "k k", "it's \\n"}), nil, ""},
		{"inline quote inside a word", Config{}, "SET ab\"c d\" x\n", cmds([]string{"SET", "abc d", "x"}), nil, ""},
		{"inline empty quotes", Config{}, "ECHO \"\" ''\n", cmds([]string{"ECHO", "", ""}), nil, ""},
		{"inline vertical tab is part of a word", Config{}, "ECHO a\vb\n", cmds([]string{"ECHO", "a\vb"}), nil, ""},
		{"inline NUL ends the line", Config{}, "ECHO a\x00b c\nPING\n", cmds([]string{"ECHO", "a"}, []string{"PING"}), nil, ""},
		{"inline NUL after a closing quote", Config{}, "ECHO 'ax'\x00b\n", cmds([]string{"ECHO", "ax"}), nil, ""},
		{"inline NUL after a backslash in quotes", Config{}, "ECHO \"a\\\x00b\"\n", nil, codec.ErrMalformed, "unbalanced quotes in request"},
		{"inline NUL after a backslash in single quotes", Config{}, "ECHO 'a\\\x00b'\n", nil, codec.ErrMalformed, "unbalanced quotes in request"},
		{"inline unterminated quote", Config{}, "SET q \"abc\r\n", nil, codec.ErrMalformed, "unbalanced quotes in request"},
		{"inline text after closing quote", Config{}, "SET q \"a\"b\n", nil, codec.ErrMalformed, "unbalanced quotes in request"},
		{"inline unterminated single quote", Config{}, "SET q 'a\n", nil, codec.ErrMalformed, "unbalanced quotes in request"},
		{"blank lines", Config{}, "\r\n\n \t\r\n", cmds([]string{}, []string{}, []string{}), nil, ""},
		{"inline then array", Config{}, "PING\r\n*1\r\n$4\r\nPING\r\nECHO x\n",
			cmds([]string{"PING"}, []string{"PING"}, []string{"ECHO", "x"}), nil, ""},
		{"nothing", Config{}, "", nil, nil, ""},

		{"not a bulk", Config{}, "*1\r\n+PING\r\n", nil, codec.ErrMalformed, "expected '$', got '+'"},
		{"not a bulk, unprintable", Config{}, "*1\r\n\x01", nil, codec.ErrMalformed, "expected '$', got '\\x01'"},
		{"bad count", Config{}, "*x\r\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count without digits", Config{}, "*\r\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count with plus", Config{}, "*+1\r\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count leading zero", Config{}, "*01\r\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count minus zero", Config{}, "*-0\r\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count lf only", Config{}, "*1\n", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count cr not lf", Config{}, "*1\rx", nil, codec.ErrMalformed, "invalid multibulk length"},
		{"count too many digits", Config{}, "*1234567890123456789", nil, codec.ErrFrameTooLarge, "invalid multibulk length"},
		{"negative bulk", Config{}, "*1\r\n$-1\r\n", nil, codec.ErrMalformed, "invalid bulk length"},
		{"bad bulk length", Config{}, "*1\r\n$1x", nil, codec.ErrMalformed, "invalid bulk length"},
		{"bulk without crlf", Config{}, "*1\r\n$3\r\nabcX\r\n", nil, codec.ErrMalformed, "expected CRLF after bulk string"},
		{"bulk with cr only", Config{}, "*1\r\n$3\r\nabc\rX", nil, codec.ErrMalformed, "expected CRLF after bulk string"},
		{"good then bad", Config{}, "PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n", cmds([]string{"PING"}, []string{"PING"}), codec.ErrMalformed, "expected '$', got ':'"},

		{"at the limits", small, "*3\r\n$8\r\n12345678\r\n$0\r\n\r\n$1\r\nx\r\n", cmds([]string{"12345678", "", "x"}), nil, ""},
		{"too many args", small, "*4\r\n", nil, codec.ErrFrameTooLarge, "invalid multibulk length"},
		{"bulk too long", small, "*1\r\n$9\r\n", nil, codec.ErrFrameTooLarge, "invalid bulk length"},
		{"bulk length too many digits", Config{}, "*1\r\n$1000000000000000000", nil, codec.ErrFrameTooLarge, "invalid bulk length"},
		{"default bulk limit", Config{}, fmt.Sprintf("*1\r\n$%d\r\n", DefaultMaxBulk+1), nil, codec.ErrFrameTooLarge, "invalid bulk length"},
		{"default args limit", Config{}, fmt.Sprintf("*%d\r\n", DefaultMaxArgs+1), nil, codec.ErrFrameTooLarge, "invalid multibulk length"},
		{"request too large", Config{MaxBulk: 8, MaxRequest: 20}, "*2\r\n$3\r\nabc\r\n$2\r\n", nil, codec.ErrFrameTooLarge, "too big request (limit 20 bytes)"},
		{"request just fits", Config{MaxBulk: 8, MaxRequest: 21}, "*2\r\n$3\r\nabc\r\n$1\r\nx\r\n", cmds([]string{"abc", "x"}), nil, ""},
		{"inline at limit", small, "123456789 12345\n", cmds([]string{"123456789", "12345"}), nil, ""},
		{"inline too long", small, "123456789 123456\n", nil, codec.ErrFrameTooLarge, "too big inline request"},
		{"inline never ends", small, "1234567890123456", nil, codec.ErrFrameTooLarge, "too big inline request"},
		{"inline too many words", small, "a b c d\n", nil, codec.ErrFrameTooLarge, "too many arguments in inline request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewDecoder(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := checkArrivals(t, d, []byte(tc.wire))
			want := result{cmds: tc.want}
			if tc.wantErr != nil {
				want.err = &ProtocolError{Reason: tc.reason, kind: tc.wantErr}
			}
			if !got.equal(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

func TestArgsReuseAndAllocs(t *testing.T) {
	d, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wire []byte
	for i := 0; i < 16; i++ {
		wire = AppendCommand(wire, []byte("SET"), []byte("key"), []byte("value"))
		wire = append(wire, "GET key\r\n"...)
	}
	args := make([][]byte, 0, 4)
	run := func() {
		for buf := wire; len(buf) > 0; {
			var n int
			var err error
			args, n, err = d.DecodeCommand(buf, args)
			if err != nil || n == 0 || len(args) < 2 {
				t.Fatalf("DecodeCommand: %q, %d, %v", args, n, err)
			}
			buf = buf[n:]
		}
	}
	run()
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("decoding 32 commands: %v allocs, want 0", n)
	}
	first := &args[:1][0]
	args, _, _ = d.DecodeCommand(wire, args)
	if &args[0] != first {
		t.Error("DecodeCommand did not reuse the args slice")
	}
}

func TestConfig(t *testing.T) {
	d, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{DefaultMaxBulk, DefaultMaxArgs, DefaultMaxInline, 2*DefaultMaxBulk + DefaultMaxInline}
	if got := d.Config(); got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
	for _, cfg := range []Config{{MaxBulk: -1}, {MaxArgs: -1}, {MaxInline: -1}, {MaxRequest: -1}, {MaxBulk: limitMax + 1}, {MaxRequest: limitMax + 1}} {
		if _, err := NewDecoder(cfg); !errors.Is(err, codec.ErrConfig) {
			t.Errorf("NewDecoder(%+v) error %v, want codec.ErrConfig", cfg, err)
		}
	}
}

func TestProtocolErrorText(t *testing.T) {
	d, _ := NewDecoder(Config{})
	_, _, err := d.DecodeCommand([]byte("*1\r\n$x"), nil)
	var perr *ProtocolError
	if !errors.As(err, &perr) || perr.Reason != "invalid bulk length" || !errors.Is(err, codec.ErrMalformed) {
		t.Fatalf("error %v, want a ProtocolError wrapping codec.ErrMalformed", err)
	}
	if got, want := err.Error(), "codec: malformed frame: RESP protocol error: invalid bulk length"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"simple", AppendSimple([]byte("x"), "OK"), "x+OK\r\n"},
		{"simple sanitized", AppendSimple(nil, "a\r\nb\nc"), "+a  b c\r\n"},
		{"error", AppendError(nil, "ERR unknown command 'foo'"), "-ERR unknown command 'foo'\r\n"},
		{"error sanitized", AppendError(nil, "ERR a\r\nb"), "-ERR a  b\r\n"},
		{"int", AppendInt(nil, 42), ":42\r\n"},
		{"negative int", AppendInt(nil, -9223372036854775808), ":-9223372036854775808\r\n"},
		{"bulk", AppendBulk(nil, []byte("a\r\nb")), "$4\r\na\r\nb\r\n"},
		{"empty bulk", AppendBulk(nil, nil), "$0\r\n\r\n"},
		{"bulk string", AppendBulkString(nil, "hello"), "$5\r\nhello\r\n"},
		{"null", AppendNull(nil), "$-1\r\n"},
		{"array", AppendArrayHeader(nil, 3), "*3\r\n"},
		{"empty array", AppendArrayHeader(nil, 0), "*0\r\n"},
		{"null array", AppendArrayHeader(nil, -1), "*-1\r\n"},
		{"command", AppendCommand(nil, []byte("GET"), []byte("k")), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"},
		{"empty command", AppendCommand(nil), "*0\r\n"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func BenchmarkDecodeCommand(b *testing.B) {
	d, _ := NewDecoder(Config{})
	var wire []byte
	for i := 0; i < 16; i++ {
		wire = AppendCommand(wire, []byte("SET"), []byte("key:000000000042"), bytes.Repeat([]byte("x"), 3))
	}
	args := make([][]byte, 0, 4)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		for buf := wire; len(buf) > 0; {
			var n int
			args, n, _ = d.DecodeCommand(buf, args)
			buf = buf[n:]
		}
	}
}

// The limits' arithmetic fits in an int on every platform, 32-bit ones
// included (where limitMax once did not compile): the default MaxRequest
// from maximal limits, and the end offset of a maximal bulk string.
func TestLimitsFitInt(t *testing.T) {
	headroom := int64(math.MaxInt)
	if 4*int64(limitMax) > headroom {
		t.Fatalf("limitMax %d: 4x does not fit in an int", limitMax)
	}
	d, err := NewDecoder(Config{MaxBulk: limitMax, MaxInline: limitMax})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Config().MaxRequest; got != 3*limitMax {
		t.Fatalf("MaxRequest %d, want %d", got, 3*limitMax)
	}
	wire := fmt.Sprintf("*2\r\n$1\r\na\r\n$%d\r\n", limitMax)
	if _, n, err := d.DecodeCommand([]byte(wire), nil); n != 0 || err != nil {
		t.Fatalf("maximal bulk header: n=%d err=%v, want an incomplete request", n, err)
	}
}
