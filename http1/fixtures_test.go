package http1

import (
	"strings"
	"testing"
)

// The edge cases, in the spirit of llhttp's markdown fixtures: an input and
// the event log the parser must give for it, whole and split at every byte
// (TestFixturesEverySplit). In inputs "\n" is written out as it goes on the
// wire: "\r\n" is CRLF, a lone "\n" is a bare LF.
var fixtures = []struct {
	name  string
	input string
	want  []string
	lim   Limits
}{
	// Request lines.
	{"simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET / 1.1 [Host: a]"}, Limits{}},
	{"HTTP/1.0 closes", "GET /x HTTP/1.0\r\n\r\n", []string{"GET /x 1.0 [] close"}, Limits{}},
	{"HTTP/1.0 keep-alive", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []string{"GET /x 1.0 [Connection: keep-alive]"}, Limits{}},
	{"1.1 Connection: close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Close\r\n\r\n", []string{"GET / 1.1 [Host: a, Connection: x, Close] close"}, Limits{}},
	{"leading empty lines skipped", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET / 1.1 [Host: a]"}, Limits{}},
	{"absolute-form", "GET http://a.example/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n", []string{"GET http://a.example/p?q 1.1 [Host: a.example]"}, Limits{}},
	{"authority-form CONNECT", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", []string{"CONNECT a.example:443 1.1 [Host: a.example:443]"}, Limits{}},
	{"CONNECT IP-literal", "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", []string{"CONNECT [::1]:8443 1.1 [Host: [::1]:8443]"}, Limits{}},
	{"CONNECT without port", "CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"CONNECT fragment byte", "CONNECT #0 HTTP/1.0\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"CONNECT userinfo", "CONNECT u@a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"CONNECT port not digits", "CONNECT a.example:x HTTP/1.1\r\nHost: a.example\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"bad escape in the path", "GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"escape cut short", "GET /a%4 HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"bad escape in the query passes", "GET /a?q=%zz HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET /a?q=%zz 1.1 [Host: a]"}, Limits{}},
	{"absolute-form bad host", "GET A://# HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"absolute-form bad port", "GET http://a:x/ HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", []string{"OPTIONS * 1.1 [Host: a]"}, Limits{}},
	{"asterisk-form GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"relative target", "GET x HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"extension method", "PURGE /c HTTP/1.1\r\nHost: a\r\n\r\n", []string{"PURGE /c 1.1 [Host: a]"}, Limits{}},
	{"lowercase method is a token", "get / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"get / 1.1 [Host: a]"}, Limits{}},
	{"method with bad char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad method token"}, Limits{}},
	{"two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"tab after method", "GET\t/ HTTP/1.1\r\n\r\n", []string{"400 bad method token"}, Limits{}},
	{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 malformed HTTP-version"}, Limits{}},
	{"NUL in target", "GET /a\x00 HTTP/1.1\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"non-ASCII in target", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"method too long", strings.Repeat("A", 40) + " / HTTP/1.1\r\n\r\n", []string{"501 method too long to be one this server implements"}, Limits{}},
	{"target at the limit", "GET /" + strings.Repeat("a", 15) + " HTTP/1.1\r\nHost: a\r\n\r\n", []string{"GET /aaaaaaaaaaaaaaa 1.1 [Host: a]"}, Limits{MaxTargetBytes: 16}},
	{"target over the limit", "GET /" + strings.Repeat("a", 16) + " HTTP/1.1\r\nHost: a\r\n\r\n", []string{"414 request-target over the limit"}, Limits{MaxTargetBytes: 16}},
	{"target over the limit, never ends", "GET /" + strings.Repeat("a", 100), []string{"414 request-target over the limit"}, Limits{MaxTargetBytes: 16}},

	// Versions.
	{"HTTP/2.7", "GET / HTTP/2.7\r\nHost: a\r\n\r\n", []string{"505 HTTP version other than 1.0 and 1.1"}, Limits{}},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", []string{"505 HTTP version other than 1.0 and 1.1"}, Limits{}},
	{"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", []string{"505 HTTP version other than 1.0 and 1.1"}, Limits{}},
	{"HTTP/1.1 lowercase", "GET / http/1.1\r\n\r\n", []string{"400 malformed HTTP-version"}, Limits{}},
	{"HTTP/11.1", "GET / HTTP/11.1\r\n\r\n", []string{"400 malformed HTTP-version"}, Limits{}},
	{"no version (0.9 style)", "GET /\r\n\r\n", []string{"400 bad request-target"}, Limits{}},
	{"space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", []string{"400 malformed HTTP-version"}, Limits{}},

	// Line endings.
	{"bare LF after request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},
	{"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},
	{"bare LF as the end", "GET / HTTP/1.1\r\nHost: a\r\n\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},
	{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},
	{"bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},
	{"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []string{"400 bad method token"}, Limits{}},

	// Fields.
	{"OWS trimmed", "GET / HTTP/1.1\r\nHost:a\r\nX:  v w \t\r\n\r\n", []string{"GET / 1.1 [Host: a, X: v w]"}, Limits{}},
	{"empty value", "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n", []string{"GET / 1.1 [Host: a, X: ]"}, Limits{}},
	{"obs-text in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \xe9\r\n\r\n", []string{"GET / 1.1 [Host: a, X: \xe9]"}, Limits{}},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", []string{"400 obs-fold (field line starting with whitespace)"}, Limits{}},
	{"whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", []string{"400 obs-fold (field line starting with whitespace)"}, Limits{}},
	{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", []string{"400 whitespace between field-name and colon"}, Limits{}},
	{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", []string{"400 whitespace between field-name and colon"}, Limits{}},
	{"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", []string{"400 bad field-name character"}, Limits{}},
	{"bad name char", "GET / HTTP/1.1\r\nX(y: a\r\n\r\n", []string{"400 bad field-name character"}, Limits{}},
	{"non-ASCII name", "GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n", []string{"400 bad field-name character"}, Limits{}},
	{"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", []string{"400 bad field-name character"}, Limits{}},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", []string{"400 bad field-value character"}, Limits{}},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", []string{"400 bad field-value character"}, Limits{}},
	{"missing Host in 1.1", "GET / HTTP/1.1\r\n\r\n", []string{"400 missing, repeated or bad Host"}, Limits{}},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", []string{"400 missing, repeated or bad Host"}, Limits{}},
	{"bad Host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", []string{"400 missing, repeated or bad Host"}, Limits{}},
	{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", []string{"GET / 1.1 [Host: ]"}, Limits{}},
	{"head at the limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 21) + "\r\n\r\n", []string{"GET / 1.1 [Host: a, X: vvvvvvvvvvvvvvvvvvvvv]"}, Limits{MaxHeaderBytes: 53}},
	{"head over the limit", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 22) + "\r\n\r\n", []string{"431 header section over the limit"}, Limits{MaxHeaderBytes: 53}},
	{"head over the limit, never ends", "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 30), []string{"431 header section over the limit"}, Limits{MaxHeaderBytes: 64}},
	{"too many fields", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", []string{"431 more header fields than the limit"}, Limits{MaxHeaderFields: 2}},
	{"Expect 100-continue", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx", []string{`POST / 1.1 [Host: a, Expect: 100-Continue, Content-Length: 1] body "x"`}, Limits{}},
	{"other expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", []string{"417 unsupported expectation"}, Limits{}},

	// Content-Length.
	{"Content-Length body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", []string{`POST / 1.1 [Host: a, Content-Length: 5] body "hello"`}, Limits{}},
	{"Content-Length 0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", []string{"POST / 1.1 [Host: a, Content-Length: 0]"}, Limits{}},
	{"same Content-Length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi", []string{`POST / 1.1 [Host: a, Content-Length: 2, Content-Length: 2] body "hi"`}, Limits{}},
	{"differing Content-Lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi!", []string{"400 several differing Content-Length values"}, Limits{}},
	{"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\nhi", []string{"400 bad Content-Length"}, Limits{}},
	{"Content-Length sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\nhi", []string{"400 bad Content-Length"}, Limits{}},
	{"Content-Length negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", []string{"400 bad Content-Length"}, Limits{}},
	{"Content-Length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", []string{"400 bad Content-Length"}, Limits{}},
	{"Content-Length overflows", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", []string{"400 bad Content-Length"}, Limits{}},
	{"Content-Length over the body limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", []string{"413 body over the limit"}, Limits{MaxBodyBytes: 10}},
	{"body cut short", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel", []string{"incomplete"}, Limits{}},

	// Transfer-Encoding and the CL/TE conflicts.
	{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: chunked] body "hello world"`}, Limits{}},
	{"chunked, case and hex", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: ChUnKeD] body "0123456789"`}, Limits{}},
	{"empty Transfer-Encoding elements", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: ,chunked,] body "abc"`}, Limits{}},
	{"chunk extensions", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b;c=\"d e\"\r\nabc\r\n0 ;last\r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: chunked] body "abc"`}, Limits{}},
	{"trailers", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nA: 1\r\nB-c:2 \r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: chunked] body "x" trailer [A: 1, B-c: 2]`}, Limits{}},
	{"bad trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA : 1\r\n\r\n", []string{"400 whitespace between field-name and colon"}, Limits{}},
	{"trailer over the limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: " + strings.Repeat("1", 80) + "\r\n\r\n", []string{"431 header section over the limit"}, Limits{MaxHeaderBytes: 64}},
	{"CL and TE", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"400 both Content-Length and Transfer-Encoding"}, Limits{}},
	{"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", []string{"400 both Content-Length and Transfer-Encoding"}, Limits{}},
	{"TE not ending in chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE chunked in two fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", []string{"501 unknown transfer coding"}, Limits{}},
	{"TE with junk", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", []string{"400 Transfer-Encoding whose last coding is not chunked"}, Limits{}},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []string{"400 Transfer-Encoding in an HTTP/1.0 request"}, Limits{}},

	// Chunk framing.
	{"chunk size overflows", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n", []string{"400 chunk size overflows"}, Limits{}},
	{"huge chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\n", []string{"413 body over the limit"}, Limits{}},
	{"chunks over the body limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n12345\r\n0\r\n\r\n", []string{"413 body over the limit"}, Limits{MaxBodyBytes: 10}},
	{"leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000000001\r\nx\r\n0\r\n\r\n", []string{`POST / 1.1 [Host: a, Transfer-Encoding: chunked] body "x"`}, Limits{}},
	{"chunk size line over the limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", 40) + "\r\nx\r\n0\r\n\r\n", []string{"400 chunk line (size and extensions) over the limit"}, Limits{MaxChunkLineBytes: 32}},
	{"empty chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"negative chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"0x chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\nx\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"space after chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\nx\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"chunk size bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"chunk data too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", []string{"400 chunk data not followed by CRLF"}, Limits{}},
	{"chunk data bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n", []string{"400 chunk data not followed by CRLF"}, Limits{}},
	{"CTL in chunk extension", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a\x00\r\nx\r\n0\r\n\r\n", []string{"400 bad chunk size"}, Limits{}},
	{"last chunk bare LF end", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n", []string{"400 line not ended by CRLF (bare CR or LF)"}, Limits{}},

	// Pipelining.
	{"pipelined GETs", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
		[]string{"GET /1 1.1 [Host: a]", "GET /2 1.1 [Host: a]", "GET /3 1.1 [Host: a]"}, Limits{}},
	{"pipelined bodies", "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcPOST /2 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
		[]string{`POST /1 1.1 [Host: a, Content-Length: 3] body "abc"`, `POST /2 1.1 [Host: a, Transfer-Encoding: chunked] body "de"`, "GET /3 1.1 [Host: a]"}, Limits{}},
	{"smuggling via CL and TE stops the stream", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
		[]string{"400 both Content-Length and Transfer-Encoding"}, Limits{}},
	{"good request, then a bad one", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/9.9\r\n\r\n",
		[]string{"GET /1 1.1 [Host: a]", "505 HTTP version other than 1.0 and 1.1"}, Limits{}},
	{"CRLF after a body", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		[]string{`POST / 1.1 [Host: a, Content-Length: 1] body "x"`, "GET / 1.1 [Host: a]"}, Limits{}},
	{"incomplete second request", "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHo",
		[]string{"GET /1 1.1 [Host: a]", "incomplete"}, Limits{}},
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		got := parseStream([]byte(f.input), nil, f.lim)
		if strings.Join(got, "\n") != strings.Join(f.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", f.name, got, f.want)
		}
	}
}

// TestFixturesEverySplit: every fixture gives the same log split at any
// one point, and fed one byte at a time.
func TestFixturesEverySplit(t *testing.T) {
	for _, f := range fixtures {
		want := strings.Join(parseStream([]byte(f.input), nil, f.lim), "\n")
		for cut := 0; cut <= len(f.input); cut++ {
			if got := strings.Join(parseStream([]byte(f.input), []int{cut}, f.lim), "\n"); got != want {
				t.Fatalf("%s split at %d:\n got %q\nwant %q", f.name, cut, got, want)
			}
		}
		cuts := make([]int, len(f.input))
		for i := range cuts {
			cuts[i] = i
		}
		if got := strings.Join(parseStream([]byte(f.input), cuts, f.lim), "\n"); got != want {
			t.Fatalf("%s byte by byte:\n got %q\nwant %q", f.name, got, want)
		}
	}
}
