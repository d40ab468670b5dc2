package websocket

import (
	"fmt"
	"strings"
	"testing"
)

// protocolCase is one case of the table below: the bytes a client sends
// and what the server's message reader makes of them, as a log: one line
// per message or control frame, "error <close code>" at a violation.
type protocolCase struct {
	name  string
	in    []byte
	want  string
	limit int // message limit; 0: 1<<16 for the table
}

// protocolCases follow the Autobahn testsuite's sections (the numbers are
// its case numbers where one matches) with the behaviour RFC 6455 asks of
// a server's reader. The conn-level reactions (pong for ping, the close
// reply) are tested in conn_test.go.
var protocolCases = []protocolCase{
	// 1: framing, text and binary of every length encoding.
	{name: "1.1.1 empty text", in: frames(text("")), want: `text ""`},
	{name: "1.1.2 text 125", in: frames(text(strings.Repeat("*", 125))), want: "text 125 bytes"},
	{name: "1.1.3 text 126 (16-bit length)", in: frames(text(strings.Repeat("*", 126))), want: "text 126 bytes"},
	{name: "1.1.4 text 127", in: frames(text(strings.Repeat("*", 127))), want: "text 127 bytes"},
	{name: "1.1.6 text 65535", in: frames(text(strings.Repeat("*", 65535))), want: "text 65535 bytes"},
	{name: "1.1.7 text 65536 (64-bit length)", in: frames(text(strings.Repeat("*", 65536))), want: "text 65536 bytes", limit: 1 << 17},
	{name: "1.2.1 empty binary", in: frames(binary_("")), want: `binary ""`},
	{name: "1.2.3 binary 126", in: frames(binary_(strings.Repeat("\xfe", 126))), want: "binary 126 bytes"},
	{name: "binary with any bytes", in: frames(binary_("\x00\xff\xc0")), want: `binary "\x00\xff\xc0"`},
	{name: "two messages back to back", in: frames(text("a"), binary_("b")), want: "text \"a\"\nbinary \"b\""},

	// 2: pings and pongs.
	{name: "2.1 ping empty", in: frames(ping("")), want: `ping ""`},
	{name: "2.2 ping with payload", in: frames(ping("Hello")), want: `ping "Hello"`},
	{name: "2.3 ping binary payload", in: frames(ping("\x00\xff\xfe")), want: `ping "\x00\xff\xfe"`},
	{name: "2.4 ping 125", in: frames(ping(strings.Repeat("*", 125))), want: "ping 125 bytes"},
	{name: "2.5 ping 126: too long for a control frame", in: frames(ping(strings.Repeat("*", 126))), want: "error 1002"},
	{name: "2.6 ping 64-bit length", in: frames(fr{op: OpPing, fin: true, length: 1 << 40}), want: "error 1002"},
	{name: "2.7 unsolicited pong", in: frames(pong("")), want: `pong ""`},
	{name: "2.8 unsolicited pong with payload", in: frames(pong("unsolicited")), want: `pong "unsolicited"`},
	{name: "2.10 ten pings", in: frames(ping("1"), ping("2"), ping("3"), ping("4"), ping("5"), ping("6"), ping("7"), ping("8"), ping("9"), ping("10")),
		want: `ping "1"` + "\n" + `ping "2"` + "\n" + `ping "3"` + "\n" + `ping "4"` + "\n" + `ping "5"` + "\n" + `ping "6"` + "\n" + `ping "7"` + "\n" + `ping "8"` + "\n" + `ping "9"` + "\n" + `ping "10"`},

	// 3: reserved bits.
	{name: "3.1 RSV1 on text without an extension", in: frames(fr{op: OpText, fin: true, payload: "x", rsv: 1}), want: "error 1002"},
	{name: "3.2 RSV2 after a good message", in: frames(text("ok"), fr{op: OpText, fin: true, payload: "x", rsv: 2}), want: "text \"ok\"\nerror 1002"},
	{name: "3.3 RSV3", in: frames(fr{op: OpText, fin: true, rsv: 4}), want: "error 1002"},
	{name: "3.4 RSV1+RSV3 on binary", in: frames(fr{op: OpBinary, fin: true, rsv: 5}), want: "error 1002"},
	{name: "3.6 RSV2+RSV3 on ping", in: frames(fr{op: OpPing, fin: true, rsv: 6}), want: "error 1002"},
	{name: "3.7 all RSV on close", in: frames(fr{op: OpClose, fin: true, rsv: 7}), want: "error 1002"},
	{name: "RSV1 on ping even with deflate", in: frames(fr{op: OpPing, fin: true, rsv: 1}), want: "error 1002"},

	// 4: opcodes.
	{name: "4.1.1 reserved data opcode 3", in: frames(fr{op: 3, fin: true}), want: "error 1002"},
	{name: "4.1.2 reserved data opcode 4 with payload", in: frames(fr{op: 4, fin: true, payload: "reserved"}), want: "error 1002"},
	{name: "4.1.3 opcode 5 after a good message", in: frames(text("ok"), fr{op: 5, fin: true}, ping("")), want: "text \"ok\"\nerror 1002"},
	{name: "4.1.5 opcode 7", in: frames(fr{op: 7, fin: true}), want: "error 1002"},
	{name: "4.2.1 reserved control opcode 0xB", in: frames(fr{op: 0xB, fin: true}), want: "error 1002"},
	{name: "4.2.5 opcode 0xF", in: frames(fr{op: 0xF, fin: true, payload: "x"}), want: "error 1002"},

	// 5: fragmentation.
	{name: "5.1 fragmented ping", in: frames(fr{op: OpPing, payload: "frag"}, cont("ment", true)), want: "error 1002"},
	{name: "5.2 fragmented pong", in: frames(fr{op: OpPong, payload: "frag"}, cont("ment", true)), want: "error 1002"},
	{name: "5.3 text in two fragments", in: frames(first(OpText, "frag"), cont("ment", true)), want: `text "fragment"`},
	{name: "5.5 text in many one-byte fragments", in: frames(first(OpText, "a"), cont("b", false), cont("c", false), cont("", false), cont("d", true)), want: `text "abcd"`},
	{name: "5.6 ping between fragments", in: frames(first(OpText, "frag"), ping("p"), cont("ment", true)), want: "ping \"p\"\ntext \"fragment\""},
	{name: "5.8 pong between fragments", in: frames(first(OpBinary, "a"), pong("p"), cont("b", true)), want: "pong \"p\"\nbinary \"ab\""},
	{name: "5.9 continuation without a message", in: frames(cont("x", true), text("y")), want: "error 1002"},
	{name: "5.10 final continuation without a message", in: frames(cont("x", true)), want: "error 1002"},
	{name: "5.12 non-final continuation without a message", in: frames(cont("x", false)), want: "error 1002"},
	{name: "5.15 text inside a fragmented text", in: frames(first(OpText, "a"), cont("b", false), text("c")), want: "error 1002"},
	{name: "5.16 binary inside a fragmented text", in: frames(first(OpText, "a"), first(OpBinary, "b")), want: "error 1002"},
	{name: "5.18 empty first fragment", in: frames(first(OpText, ""), cont("x", true)), want: `text "x"`},
	{name: "5.19 close between fragments", in: frames(first(OpText, "a"), closeFrame(CloseNormal, "")), want: `close 1000 ""`},
	{name: "5.20 pings between many fragments", in: frames(first(OpText, "f1"), ping("1"), cont("f2", false), ping("2"), cont("f3", true)),
		want: "ping \"1\"\nping \"2\"\ntext \"f1f2f3\""},

	// 6: UTF-8 in text.
	{name: "6.1.1 empty text", in: frames(text("")), want: `text ""`},
	{name: "6.2.1 valid multi-byte", in: frames(text("Hello-µ@ßöäüàá-UTF-8!!")), want: `text "Hello-µ@ßöäüàá-UTF-8!!"`},
	{name: "6.2.3 split code point across fragments", in: frames(first(OpText, "\xce"), cont("\xba\xe1\xbd", false), cont("\xb9\xcf\x83\xce\xbc\xce\xb5", true)), want: fmt.Sprintf("text %q", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")},
	{name: "6.2.4 each byte its own fragment", in: frames(first(OpText, "\xf0"), cont("\x9f", false), cont("\x98", false), cont("\x80", true)), want: `text "😀"`},
	{name: "6.3.1 invalid: lone continuation", in: frames(text("\x80")), want: "error 1007"},
	{name: "6.3.2 invalid in a fragment: fail fast", in: frames(first(OpText, "ok\xff"), cont("never", true)), want: "error 1007"},
	{name: "6.4.1 fail fast: bad byte inside a split code point", in: frames(first(OpText, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), cont("\xf4\x90\x80\x80", false), cont("edited", true)), want: "error 1007"},
	{name: "6.4.2 fail fast: the fragment's last byte starts no valid sequence", in: frames(first(OpText, "ab\xf4"), cont("\x90\x80\x80", false)), want: "error 1007"},
	{name: "6.4.3 fail fast: surrogate prefix at a fragment's end", in: frames(first(OpText, "\xed\xa0")), want: "error 1007"},
	{name: "6.3.2 overlong slash", in: frames(text("\xc0\xaf")), want: "error 1007"},
	{name: "6.8 code point above U+10FFFF", in: frames(text("\xf4\x90\x80\x80")), want: "error 1007"},
	{name: "6.9 surrogate U+D800", in: frames(text("\xed\xa0\x80")), want: "error 1007"},
	{name: "6.10 noncharacter U+FFFE is valid", in: frames(text("\xef\xbf\xbe")), want: `text "\ufffe"`},
	{name: "6.12 text ends in the middle of a code point", in: frames(first(OpText, "a\xe2\x82"), cont("", true)), want: "error 1007"},
	{name: "6.18 binary is not checked", in: frames(binary_("\xff\xfe")), want: `binary "\xff\xfe"`},

	// 7: close.
	{name: "7.1.1 close then more frames (reader stops at close)", in: frames(closeFrame(CloseNormal, ""), text("after")), want: `close 1000 ""`},
	{name: "7.3.1 close without payload", in: frames(fr{op: OpClose, fin: true}), want: `close 1005 ""`},
	{name: "7.3.2 close payload of 1 byte", in: frames(fr{op: OpClose, fin: true, payload: "\x03"}), want: "error 1002"},
	{name: "7.3.3 close with a code only", in: frames(closeFrame(CloseNormal, "")), want: `close 1000 ""`},
	{name: "7.3.4 close with a reason", in: frames(closeFrame(CloseNormal, "Hello World!")), want: `close 1000 "Hello World!"`},
	{name: "7.3.5 close with a 123-byte reason", in: frames(closeFrame(CloseNormal, strings.Repeat("*", 123))), want: fmt.Sprintf("close 1000 %q", strings.Repeat("*", 123))},
	{name: "7.3.6 close with a 124-byte reason: too long", in: frames(fr{op: OpClose, fin: true, payload: "\x03\xe8" + strings.Repeat("*", 124)}), want: "error 1002"},
	{name: "7.7.1 close 1000", in: frames(closeFrame(1000, "")), want: `close 1000 ""`},
	{name: "7.7.2 close 1001", in: frames(closeFrame(1001, "")), want: `close 1001 ""`},
	{name: "7.7.8 close 1011", in: frames(closeFrame(1011, "")), want: `close 1011 ""`},
	{name: "7.7.10 close 3000 (registered range)", in: frames(closeFrame(3000, "")), want: `close 3000 ""`},
	{name: "7.7.13 close 4999 (private range)", in: frames(closeFrame(4999, "")), want: `close 4999 ""`},
	{name: "7.9.1 close 0", in: frames(closeFrame(0, "")), want: "error 1002"},
	{name: "7.9.2 close 999", in: frames(closeFrame(999, "")), want: "error 1002"},
	{name: "7.9.3 close 1004 (reserved)", in: frames(closeFrame(1004, "")), want: "error 1002"},
	{name: "7.9.4 close 1005 (never sent)", in: frames(fr{op: OpClose, fin: true, payload: "\x03\xed"}), want: "error 1002"},
	{name: "7.9.5 close 1006 (never sent)", in: frames(closeFrame(1006, "")), want: "error 1002"},
	{name: "7.9.7 close 1015 (never sent)", in: frames(closeFrame(1015, "")), want: "error 1002"},
	{name: "7.9.9 close 2999", in: frames(closeFrame(2999, "")), want: "error 1002"},
	{name: "7.13.2 close 5000", in: frames(closeFrame(5000, "")), want: "error 1002"},
	{name: "7.5.1 close reason not UTF-8", in: frames(fr{op: OpClose, fin: true, payload: "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"}), want: "error 1007"},

	// 9/limits: the limit applies from the header, before buffering.
	{name: "limit: a frame over it", in: frames(binary_(strings.Repeat("x", 101))), want: "error 1009", limit: 100},
	{name: "limit: a message exactly at it", in: frames(binary_(strings.Repeat("x", 100))), want: "binary 100 bytes", limit: 100},
	{name: "limit: fragments that add up over it", in: frames(first(OpBinary, strings.Repeat("x", 60)), cont(strings.Repeat("x", 41), true)), want: "error 1009", limit: 100},
	{name: "limit: header alone is enough to refuse", in: frames(fr{op: OpBinary, fin: true, length: 1 << 40})[:14], want: "error 1009", limit: 100},
	{name: "2^63 payload length", in: frames(fr{op: OpBinary, fin: true, length: 1 << 63})[:14], want: "error 1002"},
	{name: "2^64-1 payload length", in: frames(fr{op: OpBinary, fin: true, length: 1<<64 - 1})[:14], want: "error 1002"},

	// masking (RFC 6455 §5.1).
	{name: "unmasked client frame", in: frames(fr{op: OpText, fin: true, payload: "x", unmasked: true}), want: "error 1002"},
	{name: "unmasked client ping", in: frames(fr{op: OpPing, fin: true, unmasked: true}), want: "error 1002"},
}

// TestProtocolCases runs the table with the input whole, split in two at
// every point (for inputs up to 1 KiB), and byte by byte (up to 4 KiB): a
// reader must find the same whatever the split.
func TestProtocolCases(t *testing.T) {
	for _, tc := range protocolCases {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.limit
			if limit == 0 {
				limit = 1 << 16
			}
			got := runReader(limit, false, clone(tc.in))
			if got != tc.want {
				t.Fatalf("whole:\n%s\nwant:\n%s", got, tc.want)
			}
			if len(tc.in) <= 1<<10 {
				for i := 1; i < len(tc.in); i++ {
					in := clone(tc.in)
					if got := runReader(limit, false, in[:i], in[i:]); got != tc.want {
						t.Fatalf("split at %d:\n%s\nwant:\n%s", i, got, tc.want)
					}
				}
			}
			if len(tc.in) <= 4<<10 {
				if got := runReader(limit, false, bytewise(clone(tc.in))...); got != tc.want {
					t.Fatalf("byte by byte:\n%s\nwant:\n%s", got, tc.want)
				}
			}
		})
	}
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func bytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}
