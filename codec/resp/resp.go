// Package resp speaks RESP, the Redis serialization protocol, version 2:
// Decoder parses requests, and the Append functions build replies.
//
// A client sends each command as an array of bulk strings,
//
//	*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n
//
// or, typed into nc or telnet, as an inline command: one line of words
// separated by white space, quoted as redis-server quotes them ("GET key\r\n",
// "SET k \"a b\"\r\n"). A server answers with simple strings (+OK), errors
// (-ERR ...), integers (:1), bulk strings ($3\r\nabc), the null bulk string
// ($-1) and arrays (*2 ...).
//
// Decoder is a codec.Decoder, so it also runs under package codec's Decode
// and codec/framed's Adapter; most servers call DecodeCommandFrom on the
// conn's buffered bytes instead, which splits a request into its arguments
// and, with a Progress kept per conn, goes on where the previous read left
// an incomplete request.
//
// Start with NewDecoder (a Config of limits; zero fields mean the defaults),
// DecodeCommandFrom in OnTraffic, and the Append functions for the replies.
// ExampleDecoder_DecodeCommand and ExampleDecoder_DecodeCommandFrom are
// runnable; examples/kv is a whole server.
package resp

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/evloop/evloop/codec"
)

// Default request limits, used for a Config field that is 0.
// redis-server allows 512 MiB bulk strings; an embedded server is better
// served by a smaller bound, since a conn may buffer one whole request.
const (
	// DefaultMaxBulk bounds one bulk string (argument) of a request.
	DefaultMaxBulk = 64 << 20
	// DefaultMaxArgs bounds the number of arguments of a request, as
	// redis-server does for unauthenticated clients' arrays.
	DefaultMaxArgs = 1024 * 1024
	// DefaultMaxInline bounds an inline command line, as redis-server's
	// PROTO_INLINE_MAX_SIZE does.
	DefaultMaxInline = 64 << 10
)

// limitMax keeps offsets computed from limits far from overflow: 2^40 where
// int has 64 bits, and an eighth of int's range where it has 32, so that
// 2*MaxBulk + MaxInline and a bulk string's end offset fit in an int.
const limitMax = min(1<<40, math.MaxInt>>3)

// maxDigits bounds the digits of an array or bulk string length: every
// limit is far below 10^18, so a longer number is too large whatever follows.
const maxDigits = 18

// Config sets a Decoder's limits. A zero field means its default.
type Config struct {
	// MaxBulk is the largest bulk string argument, in bytes
	// (DefaultMaxBulk). Inline arguments are bounded by MaxInline.
	MaxBulk int
	// MaxArgs is the largest number of arguments (DefaultMaxArgs).
	MaxArgs int
	// MaxInline is the longest inline command line, its line end included
	// (DefaultMaxInline).
	MaxInline int
	// MaxRequest is the largest request, in bytes on the wire; 0 means
	// 2*MaxBulk + MaxInline, room for a command with two maximal arguments.
	// It is what a conn may have to buffer for one request, so a server
	// should let its conns buffer at least this much (reactor.WithMaxInbound).
	MaxRequest int
}

// Decoder parses RESP requests: arrays of bulk strings and inline
// commands. It keeps no per-conn state: DecodeCommand and DecodeBytes parse
// a request from its first byte each time, so an incomplete one is parsed
// again when more bytes arrive (the bulk strings' contents are skipped, not
// scanned). A request of many arguments arriving in many reads then costs
// time quadratic in its size; DecodeCommandFrom with a per-conn Progress
// costs time linear in it. A Decoder is immutable and safe for concurrent
// use.
//
// Limits are enforced as soon as the bytes that break them arrive: an
// array announcing more than MaxArgs elements or a bulk string announcing
// more than MaxBulk bytes fails at its header, before its contents are
// buffered.
type Decoder struct {
	cfg Config
}

var _ codec.Decoder = (*Decoder)(nil)

// NewDecoder returns a decoder with cfg's limits, or an error wrapping
// codec.ErrConfig for a negative or absurdly large limit.
func NewDecoder(cfg Config) (*Decoder, error) {
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxBulk", &cfg.MaxBulk, DefaultMaxBulk},
		{"MaxArgs", &cfg.MaxArgs, DefaultMaxArgs},
		{"MaxInline", &cfg.MaxInline, DefaultMaxInline},
		{"MaxRequest", &cfg.MaxRequest, 0},
	} {
		if *f.v < 0 || *f.v > limitMax {
			return nil, fmt.Errorf("%w: RESP %s %d out of range", codec.ErrConfig, f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if cfg.MaxRequest == 0 {
		cfg.MaxRequest = 2*cfg.MaxBulk + cfg.MaxInline
	}
	return &Decoder{cfg: cfg}, nil
}

// Config returns the decoder's limits, defaults filled in.
func (d *Decoder) Config() Config { return d.cfg }

// ProtocolError is the error Decoder returns for input that is not a
// valid request, or that is over a limit. It wraps codec.ErrMalformed or
// codec.ErrFrameTooLarge. A server answers it with "-ERR Protocol error: " and
// the Reason, then closes the conn, as redis-server does.
type ProtocolError struct {
	// Reason is the problem in redis-server's words, for example "invalid
	// bulk length" or "expected '$', got 'x'".
	Reason string
	kind   error
}

func (e *ProtocolError) Error() string {
	return e.kind.Error() + ": RESP protocol error: " + e.Reason
}

// Unwrap returns codec.ErrMalformed or codec.ErrFrameTooLarge.
func (e *ProtocolError) Unwrap() error { return e.kind }

func protocolError(kind error, reason string) error {
	return &ProtocolError{Reason: reason, kind: kind}
}

// DecodeCommand parses the first request in buf into its arguments. It
// appends them to args[:0] and returns the extended slice; each argument
// aliases buf, so it is valid as long as buf is (a quoted inline argument is
// unescaped into a slice of its own). Passing the returned slice
// back in on the next call makes parsing allocation-free once it has grown
// to the longest command's length.
//
// n is the number of bytes the request spans. n == 0 with a nil error means
// buf holds no complete request yet. A complete request may have no
// arguments (a blank inline line, or an array of length 0 or less, which
// redis-server also skips); the caller consumes its n bytes and ignores it.
// Errors are *ProtocolError values.
func (d *Decoder) DecodeCommand(buf []byte, args [][]byte) (argsOut [][]byte, n int, err error) {
	var p Progress
	return d.decode(buf, args[:0], true, &p)
}

// Progress is how far a Decoder got in an incomplete request, so that the
// next call goes on from there: the arguments already checked are not
// parsed again, and an inline line is not searched again for its end. A
// server keeps one per conn (conn.Conn's SetContext), for the request at
// the start of the conn's buffer; its zero value is ready to use.
type Progress struct {
	at     int   // bytes of the request checked: parsing goes on here
	body   int   // where an array's first element starts
	count  int64 // the elements an array announced; 0: header not parsed
	done   int64 // the elements complete, the first at body
	inline bool  // an inline line: at bytes hold no '\n'
	steps  int   // test hook: elements and inline bytes examined
}

// Reset forgets the request in progress: call it when the bytes it
// described are gone other than by DecodeCommandFrom's n (the conn's
// buffer discarded).
func (p *Progress) Reset() { *p = Progress{steps: p.steps} }

// Pending reports whether p holds a partly parsed request.
func (p *Progress) Pending() bool { return p.at > 0 }

// DecodeCommandFrom is DecodeCommand that remembers in p where an
// incomplete request stopped, and starts from there. buf must begin with
// the same request as on the previous call with p, its bytes unchanged and
// more of them (a conn's buffered bytes, as long as nothing was consumed);
// the buffer may have moved. p is reset when the call returns a request
// (n > 0) or an error, so the next call starts a new request. The work of
// parsing a request is then linear in its size however many reads it
// takes, where DecodeCommand's is quadratic: a 1,000,000-argument request
// (6 MB) takes about 90 reads of 64 KiB, and DecodeCommand parses all that
// has arrived on each of them.
func (d *Decoder) DecodeCommandFrom(buf []byte, args [][]byte, p *Progress) (argsOut [][]byte, n int, err error) {
	return d.decode(buf, args[:0], true, p)
}

// DecodeBytes implements codec.Decoder: the frame is the whole request as it
// arrived, for handlers that forward or log requests rather than execute
// them.
func (d *Decoder) DecodeBytes(buf []byte) ([]byte, int, error) {
	var p Progress
	_, n, err := d.decode(buf, nil, false, &p)
	if n == 0 || err != nil {
		return nil, 0, err
	}
	return buf[:n], n, nil
}

func (d *Decoder) decode(buf []byte, args [][]byte, collect bool, pr *Progress) ([][]byte, int, error) {
	if len(buf) == 0 {
		pr.Reset()
		return args, 0, nil
	}
	multibulk := buf[0] == '*'
	if pr.at > len(buf) || (pr.Pending() && multibulk == pr.inline) {
		// Not the request pr was about (a caller's mistake): start over.
		pr.Reset()
	}
	if pr.count > 0 {
		// The same, for an array whose header says otherwise (a few bytes).
		if count, body, _ := parseLength(buf, 1); count != pr.count || body != pr.body {
			pr.Reset()
		}
	}
	if !multibulk {
		return d.inline(buf, args, collect, pr)
	}
	args, n, err := d.multibulk(buf, args, collect, pr)
	if n > 0 || err != nil {
		pr.Reset()
	}
	return args, n, err
}

// multibulk parses "*<count>\r\n" and count "$<len>\r\n<bytes>\r\n". Every
// decision is taken on the first byte that makes it certain, scanning in
// order, so a request gives the same result whole or in pieces. It starts
// at the element pr stopped at, and leaves pr at the element it could not
// finish.
func (d *Decoder) multibulk(buf []byte, args [][]byte, collect bool, pr *Progress) ([][]byte, int, error) {
	if pr.count == 0 {
		count, p, st := parseLength(buf, 1)
		switch st {
		case lengthIncomplete:
			return args[:0], 0, nil
		case lengthBad:
			return args[:0], 0, protocolError(codec.ErrMalformed, "invalid multibulk length")
		case lengthHuge:
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "invalid multibulk length")
		}
		if p > d.cfg.MaxRequest {
			// Even the header passes the limit (tiny limits only).
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "too big request (limit "+strconv.Itoa(d.cfg.MaxRequest)+" bytes)")
		}
		if count <= 0 {
			return args, p, nil
		}
		if count > int64(d.cfg.MaxArgs) {
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "invalid multibulk length")
		}
		pr.count, pr.body, pr.at, pr.done = count, p, p, 0
	}
	// Arguments checked by an earlier call are collected at the end, in
	// one more pass over their headers.
	resumed := pr.done > 0
	count, p := pr.count, pr.at
	for i := pr.done; i < count; i++ {
		pr.steps++
		if p >= len(buf) {
			pr.at, pr.done = p, i
			return args[:0], 0, nil
		}
		if buf[p] != '$' {
			return args[:0], 0, protocolError(codec.ErrMalformed, "expected '$', got '"+printableByte(buf[p])+"'")
		}
		size, q, st := parseLength(buf, p+1)
		switch {
		case st == lengthIncomplete:
			pr.at, pr.done = p, i
			return args[:0], 0, nil
		case st == lengthBad || (st == lengthOK && size < 0):
			return args[:0], 0, protocolError(codec.ErrMalformed, "invalid bulk length")
		case st == lengthHuge || size > int64(d.cfg.MaxBulk):
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "invalid bulk length")
		}
		end := q + int(size)
		if end+2 > d.cfg.MaxRequest {
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "too big request (limit "+strconv.Itoa(d.cfg.MaxRequest)+" bytes)")
		}
		if end+1 >= len(buf) {
			if end < len(buf) && buf[end] != '\r' {
				return args[:0], 0, protocolError(codec.ErrMalformed, "expected CRLF after bulk string")
			}
			pr.at, pr.done = p, i
			return args[:0], 0, nil
		}
		if buf[end] != '\r' || buf[end+1] != '\n' {
			return args[:0], 0, protocolError(codec.ErrMalformed, "expected CRLF after bulk string")
		}
		if collect && !resumed {
			args = append(args, buf[q:end:end])
		}
		p = end + 2
	}
	if collect && resumed {
		var ok bool
		if args, ok = collectBulks(buf, pr, args); !ok {
			// buf is not what pr checked (a caller's mistake): start over.
			pr.Reset()
			return d.multibulk(buf, args[:0], collect, pr)
		}
	}
	return args, p, nil
}

// collectBulks appends the pr.count bulk strings from pr.body, which
// multibulk has checked; ok is false if they are not there after all.
func collectBulks(buf []byte, pr *Progress, args [][]byte) (_ [][]byte, ok bool) {
	p := pr.body
	for range pr.count {
		pr.steps++
		if p >= len(buf) || buf[p] != '$' {
			return args, false
		}
		size, q, st := parseLength(buf, p+1)
		end := q + int(size)
		if st != lengthOK || size < 0 || end+2 > len(buf) {
			return args, false
		}
		args = append(args, buf[q:end:end])
		p = end + 2
	}
	return args, true
}

type lengthState uint8

const (
	lengthOK lengthState = iota
	lengthIncomplete
	lengthBad  // not a number in canonical form, or no CRLF after it
	lengthHuge // more digits than any limit allows
)

// parseLength parses the decimal number and CRLF at buf[i:] as
// redis-server's string2ll does: an optional '-', then digits without a
// leading zero ("0" alone is fine, "-0" is not). It returns the value and
// where the line after it starts.
func parseLength(buf []byte, i int) (int64, int, lengthState) {
	j := i
	neg := j < len(buf) && buf[j] == '-'
	if neg {
		j++
	}
	start := j
	var v int64
	for ; j < len(buf); j++ {
		c := buf[j]
		if '0' <= c && c <= '9' {
			switch {
			case j > start && buf[start] == '0':
				return 0, 0, lengthBad
			case j-start >= maxDigits:
				return 0, 0, lengthHuge
			}
			v = v*10 + int64(c-'0')
			continue
		}
		if c != '\r' || j == start || (neg && v == 0) {
			return 0, 0, lengthBad
		}
		if j+1 >= len(buf) {
			return 0, 0, lengthIncomplete
		}
		if buf[j+1] != '\n' {
			return 0, 0, lengthBad
		}
		if neg {
			v = -v
		}
		return v, j + 2, lengthOK
	}
	return 0, 0, lengthIncomplete
}

// inline parses one inline command line the way redis-server does
// (sdssplitargs): words separated by white space, where "double quotes"
// take the escapes \n \r \t \b \a \xHH and \<any>, 'single quotes' take
// \', a quote may open inside a word, and a closing quote must be followed
// by white space or the line end. Unbalanced quotes are an error. A NUL
// byte ends the line, as it ends redis-server's C string. A plain word
// aliases buf; a quoted one is unescaped into a new slice (people type
// those, so the allocation is off the hot path).
// The line's end is searched for from where pr's search stopped.
func (d *Decoder) inline(buf []byte, args [][]byte, collect bool, pr *Progress) ([][]byte, int, error) {
	scan := buf
	if len(scan) > d.cfg.MaxInline {
		scan = scan[:d.cfg.MaxInline]
	}
	from := min(pr.at, len(scan))
	end := bytes.IndexByte(scan[from:], '\n')
	if end < 0 {
		pr.steps += len(scan) - from
		if len(buf) >= d.cfg.MaxInline {
			pr.Reset()
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "too big inline request")
		}
		pr.at, pr.inline = len(scan), true
		return args[:0], 0, nil
	}
	pr.steps += end + 1
	end += from
	pr.Reset()
	line := buf[:end]
	words := 0
	for i := 0; ; {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) || line[i] == 0 {
			break
		}
		arg, next, err := inlineArg(line, i, collect)
		if err != nil {
			return args[:0], 0, err
		}
		if words++; words > d.cfg.MaxArgs {
			return args[:0], 0, protocolError(codec.ErrFrameTooLarge, "too many arguments in inline request")
		}
		if collect {
			args = append(args, arg)
		}
		i = next
	}
	return args, end + 1, nil
}

// inlineArg reads the inline argument starting at line[i] and returns it
// (if collect is set) and where reading goes on.
func inlineArg(line []byte, i int, collect bool) (arg []byte, next int, err error) {
	start := i
	var out []byte  // the unescaped argument, once a quote has appeared
	quoted := false // a quote has appeared: out holds the argument
	var quote byte  // the open quote: 0, '"' or '\''
	put := func(c byte) {
		if quoted && collect {
			out = append(out, c)
		}
	}
	word := func(end int) []byte {
		if !collect {
			return nil
		}
		if !quoted {
			return line[start:end:end]
		}
		if out == nil {
			out = []byte{} // "" is an empty argument, not a missing one
		}
		return out[:len(out):len(out)]
	}
	for ; ; i++ {
		if i == len(line) || (quote != 0 && line[i] == 0) {
			if quote != 0 {
				return nil, 0, errUnbalanced()
			}
			return word(i), i, nil
		}
		c := line[i]
		switch quote {
		case '"':
			switch {
			case c == '\\' && i+3 < len(line) && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]):
				put(unhex(line[i+2])<<4 | unhex(line[i+3]))
				i += 3
			case c == '\\' && i+1 < len(line) && line[i+1] != 0:
				// A NUL ends redis-server's C string, so a backslash
				// before one escapes nothing: the quote is unterminated.
				i++
				put(unescape(line[i]))
			case c == '"':
				if i+1 < len(line) && line[i+1] != 0 && !isSpace(line[i+1]) {
					return nil, 0, errUnbalanced()
				}
				return word(i), i + 1, nil
			default:
				put(c)
			}
		case '\'':
			switch {
			case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
				i++
				put('\'')
			case c == '\'':
				if i+1 < len(line) && line[i+1] != 0 && !isSpace(line[i+1]) {
					return nil, 0, errUnbalanced()
				}
				return word(i), i + 1, nil
			default:
				put(c)
			}
		default:
			switch c {
			case ' ', '\r', '\t', 0: // redis-server's word ends, not isspace's
				return word(i), i, nil
			case '"', '\'':
				if !quoted && collect {
					out = append(out, line[start:i]...)
				}
				quoted, quote = true, c
			default:
				put(c)
			}
		}
	}
}

func errUnbalanced() error { return protocolError(codec.ErrMalformed, "unbalanced quotes in request") }

// unescape is the byte a backslash escape inside double quotes stands for.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	case 'b':
		return '\b'
	case 'a':
		return '\a'
	}
	return c
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// isSpace is C's isspace, which redis-server splits inline commands at
// ('\n' ends the line before it gets here).
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

func printableByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return fmt.Sprintf("\\x%02x", c)
}

// AppendSimple appends the simple string reply "+s\r\n". A simple string
// cannot hold a line end: '\r' and '\n' in s become spaces, as in
// redis-server.
func AppendSimple(dst []byte, s string) []byte {
	dst = append(dst, '+')
	return append(appendLine(dst, s), '\r', '\n')
}

// AppendError appends the error reply "-msg\r\n". By convention msg starts
// with an upper-case error code: "ERR unknown command 'foo'", "WRONGTYPE
// ...". '\r' and '\n' in msg become spaces.
func AppendError(dst []byte, msg string) []byte {
	dst = append(dst, '-')
	return append(appendLine(dst, msg), '\r', '\n')
}

func appendLine(dst []byte, s string) []byte {
	for {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(append(dst, s[:i]...), ' ')
		s = s[i+1:]
	}
}

// AppendInt appends the integer reply ":v\r\n".
func AppendInt(dst []byte, v int64) []byte {
	dst = strconv.AppendInt(append(dst, ':'), v, 10)
	return append(dst, '\r', '\n')
}

// AppendBulk appends b as the bulk string reply "$len\r\nb\r\n". A nil b
// is an empty bulk string, not the null one (see AppendNull).
func AppendBulk(dst, b []byte) []byte {
	dst = strconv.AppendInt(append(dst, '$'), int64(len(b)), 10)
	dst = append(append(dst, '\r', '\n'), b...)
	return append(dst, '\r', '\n')
}

// AppendBulkString is AppendBulk for a string.
func AppendBulkString(dst []byte, s string) []byte {
	dst = strconv.AppendInt(append(dst, '$'), int64(len(s)), 10)
	dst = append(append(dst, '\r', '\n'), s...)
	return append(dst, '\r', '\n')
}

// AppendNull appends the null bulk string "$-1\r\n", RESP2's "no value"
// (GET of a missing key).
func AppendNull(dst []byte) []byte { return append(dst, "$-1\r\n"...) }

// AppendArrayHeader appends "*n\r\n", the header of an array of n replies
// that the caller appends next; n < 0 appends the null array "*-1\r\n".
func AppendArrayHeader(dst []byte, n int) []byte {
	if n < 0 {
		return append(dst, "*-1\r\n"...)
	}
	dst = strconv.AppendInt(append(dst, '*'), int64(n), 10)
	return append(dst, '\r', '\n')
}

// AppendCommand appends a request as clients send it: an array of bulk
// strings. DecodeCommand gives args back.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = AppendArrayHeader(dst, len(args))
	for _, a := range args {
		dst = AppendBulk(dst, a)
	}
	return dst
}
