package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	for _, fx := range fixtures {
		f.Add([]byte(fx.input), uint16(len(fx.input)/2), uint16(len(fx.input)/3))
	}
}

// FuzzParse: on any input and any two split points the reader gives the
// same log as on the whole input (and byte by byte for short inputs),
// without panicking; a log ends at its first refusal.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		lim := Limits{MaxTargetBytes: 64, MaxHeaderBytes: 256, MaxHeaderFields: 8, MaxBodyBytes: 128, MaxChunkLineBytes: 32}
		want := strings.Join(parseStream(data, nil, lim), "\n")
		cuts := []int{int(a) % (len(data) + 1), int(b) % (len(data) + 1)}
		slices.Sort(cuts)
		if got := strings.Join(parseStream(data, cuts, lim), "\n"); got != want {
			t.Fatalf("split at %v:\n got %q\nwant %q", cuts, got, want)
		}
		if len(data) <= 512 {
			cuts := make([]int, len(data))
			for i := range cuts {
				cuts[i] = i
			}
			if got := strings.Join(parseStream(data, cuts, lim), "\n"); got != want {
				t.Fatalf("byte by byte:\n got %q\nwant %q", got, want)
			}
		}
	})
}

// FuzzDifferential compares the first request of an input with what the
// standard library's http.ReadRequest makes of it: both accept it or both
// refuse it, except for the deliberate differences listed in
// deliberateDifference; accepted requests have the same method, target,
// fields and body.
func FuzzDifferential(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, _, _ uint16) {
		ours, oursErr, complete := firstRequest(data)
		if !complete {
			return // the input stops inside the request: nothing to compare
		}
		std, stdBody, stdErr := stdRequest(data)
		switch {
		case oursErr == nil && stdErr == nil:
			compareRequests(t, data, ours, std, stdBody)
		case oursErr != nil && stdErr == nil:
			if !refusedDeliberately(oursErr, data) {
				t.Fatalf("we refuse (%v) what net/http accepts: %q", oursErr, data)
			}
		case oursErr == nil && stdErr != nil:
			if !acceptedDeliberately(ours, data, stdErr) {
				t.Fatalf("we accept what net/http refuses (%v): %q", stdErr, data)
			}
		}
	})
}

// parsed is our first request, copied out of the stream.
type parsed struct {
	method, target string
	header         http.Header
	body           []byte
	r              Request
}

// firstRequest parses data's first request with the reader; complete is
// false when data ends inside it.
func firstRequest(data []byte) (p parsed, err *Error, complete bool) {
	lim := Limits{}.withDefaults()
	var rd reader
	r := &p.r
	in := data
	for {
		ev, n, piece, err := rd.next(in, r, &lim, lim.MaxBodyBytes)
		in = in[n:]
		if err != nil {
			return p, err, true
		}
		switch ev {
		case evMore:
			return p, nil, false
		case evHead:
			p.method, p.target = string(r.Method), string(r.Target)
			p.header = http.Header{}
			for _, f := range r.Header {
				k := textproto.CanonicalMIMEHeaderKey(string(f.Name))
				p.header[k] = append(p.header[k], string(f.Value))
			}
			if !r.Chunked && r.ContentLength == 0 {
				return p, nil, true
			}
		case evData:
			p.body = append(p.body, piece...)
		case evEnd:
			return p, nil, true
		}
	}
}

func stdRequest(data []byte) (*http.Request, []byte, error) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, nil, err
	}
	return req, body, nil
}

func compareRequests(t *testing.T, data []byte, ours parsed, std *http.Request, stdBody []byte) {
	if ours.method != std.Method || ours.target != std.RequestURI {
		t.Fatalf("request line: ours %q %q, net/http %q %q: %q", ours.method, ours.target, std.Method, std.RequestURI, data)
	}
	if !bytes.Equal(ours.body, stdBody) {
		t.Fatalf("body: ours %q, net/http %q: %q", ours.body, stdBody, data)
	}
	// net/http moves Host out of the map and rewrites the framing fields.
	skip := map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true}
	for k, v := range ours.header {
		if !skip[k] && !slices.Equal(v, std.Header[k]) {
			t.Fatalf("field %s: ours %q, net/http %q: %q", k, v, std.Header[k], data)
		}
	}
	for k := range std.Header {
		if _, ok := ours.header[k]; !ok && !skip[k] {
			t.Fatalf("field %s only in net/http: %q", k, data)
		}
	}
}

// refusedDeliberately lists where this parser is stricter than
// http.ReadRequest, by design (the package doc's table of differences).
func refusedDeliberately(err *Error, data []byte) bool {
	for _, d := range []*Error{
		ErrLineEnding,       // bare LF: net/http takes it as a line end; RFC 9112 §2.2 only MAY
		ErrVersionNotSup,    // ReadRequest parses any HTTP/x.y; net/http's server then answers 505 too
		ErrHost,             // ReadRequest does not check Host; net/http's server answers 400 too
		ErrCLAndTE,          // net/http serves it by Transfer-Encoding and keeps the conn: smuggling
		ErrTEHTTP10,         // net/http ignores Transfer-Encoding in 1.0
		ErrTarget,           // non-ASCII targets and forms that do not fit the method
		ErrExpect,           // net/http's server answers 417 too
		ErrObsFold,          // net/http unfolds; RFC 9112 §5.2 allows refusing
		ErrTargetTooLong,    // limits differ
		ErrHeaderTooLarge,   //
		ErrTooManyFields,    //
		ErrBodyTooLarge,     //
		ErrMethodTooLong,    //
		ErrChunkLine,        //
		ErrChunkSize,        // net/http allows whitespace after the size
		ErrTENotChunked,     // net/http: an empty or list Transfer-Encoding in odd places
		ErrContentLength,    // net/http allows leading/trailing junk it trims
		ErrSpaceBeforeColon, // net/http versions differ on this
	} {
		if errors.Is(err, d) {
			return true
		}
	}
	// Leading empty lines: net/http refuses them, we skip them (RFC 9112 §2.2 SHOULD).
	return bytes.HasPrefix(data, []byte("\r\n"))
}

// acceptedDeliberately lists where this parser accepts what
// http.ReadRequest refuses.
func acceptedDeliberately(p parsed, data []byte, stdErr error) bool {
	switch {
	case bytes.HasPrefix(data, []byte("\r\n")):
		return true // leading empty lines (RFC 9112 §2.2)
	case p.r.Chunked && strings.Contains(stdErr.Error(), "chunk length"):
		// net/http refuses whitespace before a chunk extension's ';' and
		// sizes of more than 16 hex digits (leading zeros); RFC 9112 §7.1
		// allows both.
		return true
	case p.r.Chunked && strings.Contains(stdErr.Error(), "unsupported transfer encoding"):
		// Empty elements in the Transfer-Encoding list (",chunked"):
		// RFC 9110 §5.6.1 has a recipient ignore them; net/http refuses.
		return true
	}
	return false
}
