package fifo

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Protocol constants.
const (
	// Magic opens every request line; its suffix is the protocol version.
	Magic = "evloop-fifo/1"
	// Ack is the line the server writes on the s2c FIFO once it has opened
	// both ends of the pair. Bytes after it are the stream.
	Ack = "OK\n"
	// MaxRequestLen bounds a request line, newline included. It is POSIX's
	// smallest PIPE_BUF, so that one write of a request is atomic on every
	// system and concurrent clients' requests cannot interleave.
	MaxRequestLen = 512

	// DefaultMode is the permission of a well-known FIFO unless configured:
	// only its owner may connect.
	DefaultMode = 0o600
	// DefaultHandshakeTimeout bounds how long a server waits for a client
	// that announced a pair to open its end.
	DefaultHandshakeTimeout = 5 * time.Second
	// DefaultDialTimeout bounds Dial.
	DefaultDialTimeout = 10 * time.Second

	c2sSuffix = ".c2s"
	s2cSuffix = ".s2c"
	dirPrefix = "evloop-fifo-"
)

// Errors callers can test with errors.Is.
var (
	// ErrMalformed is the cause of a request line that does not parse or
	// names paths that fail validation.
	ErrMalformed = errors.New("fifo: malformed request")
	// ErrTooLong is the cause of a request line longer than MaxRequestLen.
	ErrTooLong = errors.New("fifo: request line too long")
	// ErrNotFIFO is returned when a path that must be a FIFO is something else.
	ErrNotFIFO = errors.New("fifo: not a FIFO")
	// ErrSymlink is returned when a path that must be a FIFO is a symbolic
	// link: a server never follows one, so nobody can redirect it.
	ErrSymlink = errors.New("fifo: path is a symbolic link")
	// ErrInUse is returned by Listen when a live server holds the path.
	ErrInUse = errors.New("fifo: a live server holds the path")
	// ErrNoServer is returned by Dial when no server reads the well-known FIFO.
	ErrNoServer = errors.New("fifo: no server is listening")
	// ErrHandshakeTimeout is the cause of a handshake that did not complete
	// in time, on either side.
	ErrHandshakeTimeout = errors.New("fifo: handshake timed out")
	// ErrClosed is returned by calls on a closed Listener or Handshake.
	ErrClosed = errors.New("fifo: closed")
)

// Addr is the address of a FIFO endpoint: a server's well-known FIFO, or a
// client's private directory (the pair is unlinked once connected).
type Addr struct {
	Path string
	PID  int // the client's pid, in a server-side conn's RemoteAddr; else 0
}

// Network returns "fifo", so that Network()+"://"+String() is the address
// form fifo:///path.
func (a Addr) Network() string { return "fifo" }

// String returns the path.
func (a Addr) String() string { return a.Path }

// Request is one parsed request line: a client announcing its FIFO pair.
type Request struct {
	PID int    // the client's process id
	C2S string // FIFO the client writes and the server reads
	S2C string // FIFO the server writes and the client reads
}

// Dir is the client's private directory holding the pair.
func (r Request) Dir() string { return filepath.Dir(r.C2S) }

// Line encodes r as a request line, newline included. Paths are quoted, so
// a temporary directory with spaces in its name is fine.
func (r Request) Line() []byte {
	b := make([]byte, 0, 128)
	b = append(b, Magic...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(r.PID), 10)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, r.C2S)
	b = append(b, ' ')
	b = strconv.AppendQuote(b, r.S2C)
	return append(b, '\n')
}

// ParseRequest parses and validates one request line, with or without its
// newline. It checks the form only; Listener.Begin checks the files.
func ParseRequest(line []byte) (Request, error) {
	if len(line) > MaxRequestLen {
		return Request{}, fmt.Errorf("%w: %d bytes (max %d)", ErrTooLong, len(line), MaxRequestLen)
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	s := string(line)
	bad := func(why string) (Request, error) {
		return Request{}, fmt.Errorf("%w: %s", ErrMalformed, why)
	}
	rest, ok := strings.CutPrefix(s, Magic+" ")
	if !ok {
		return bad("no " + Magic + " header")
	}
	pidText, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return bad("missing fields")
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != pidText {
		return bad("bad pid")
	}
	var paths [2]string
	for i := range paths {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil || q[0] != '"' {
			return bad("paths must be double-quoted")
		}
		paths[i], _ = strconv.Unquote(q)
		rest = rest[len(q):]
		if i == 0 {
			if rest, ok = strings.CutPrefix(rest, " "); !ok {
				return bad("missing fields")
			}
		}
	}
	if rest != "" {
		return bad("trailing bytes")
	}
	req := Request{PID: pid, C2S: paths[0], S2C: paths[1]}
	if err := req.validate(); err != nil {
		return Request{}, err
	}
	return req, nil
}

// validate checks that the paths are clean, absolute, in one directory made
// the way Dial makes it, and named after the pid, so that a request cannot
// point the server at an arbitrary file.
func (r Request) validate() error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }
	for _, p := range []string{r.C2S, r.S2C} {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p {
			return bad("paths must be absolute and clean")
		}
		if strings.ContainsFunc(p, func(c rune) bool { return c < ' ' || c == 0x7f }) {
			return bad("control character in path")
		}
	}
	dir := filepath.Dir(r.C2S)
	if filepath.Dir(r.S2C) != dir {
		return bad("pair not in one directory")
	}
	if !strings.HasPrefix(filepath.Base(dir), dirPrefix) {
		return bad("pair not in an " + dirPrefix + "* directory")
	}
	stem, ok := strings.CutSuffix(filepath.Base(r.C2S), c2sSuffix)
	if !ok || filepath.Base(r.S2C) != stem+s2cSuffix {
		return bad("pair names do not match")
	}
	pidText, random, ok := strings.Cut(stem, "-")
	if !ok || pidText != strconv.Itoa(r.PID) || len(random) != 16 || strings.Trim(random, "0123456789abcdef") != "" {
		return bad("pair names are not <pid>-<16 hex digits>")
	}
	return nil
}

// pairNames returns the pair's paths in dir for a client with pid.
func pairNames(dir string, pid int, random string) Request {
	stem := filepath.Join(dir, strconv.Itoa(pid)+"-"+random)
	return Request{PID: pid, C2S: stem + c2sSuffix, S2C: stem + s2cSuffix}
}
