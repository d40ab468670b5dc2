package http1

// The request head (RFC 9112 §2-§5), parsed in place as picohttpparser
// does: method, target and fields are views into the caller's buffer. The
// parser is a byte-level state machine that can stop at any byte and
// resume there with more bytes (headState), so a head split anywhere gives
// the same result as a whole one, and a head dribbled a byte at a time
// costs linear time. A resumed scan only validates; once the head is
// complete it is scanned once more from its start to take the views.
// Errors come from the first offending byte, left to right, so every
// split of the same bytes fails with the same status.

// Head scanner states.
const (
	hStart      uint8 = iota // before the request line: empty lines are skipped (RFC 9112 §2.2)
	hStartLF                 // CR of a leading empty line seen
	hMethod                  // in the method token
	hTarget                  // in the request-target
	hVersion                 // in HTTP-version
	hReqLF                   // CR after the version seen
	hFieldStart              // at the start of a field line or of the final empty line
	hName                    // in a field name
	hValue                   // in a field value
	hFieldLF                 // CR after a field value seen
	hEndLF                   // CR of the final empty line seen
)

// headState is where a scan of an incomplete head stopped.
type headState struct {
	state   uint8
	major   uint8
	minor   uint8
	vpos    uint8  // bytes of HTTP-version seen
	off     int32  // bytes scanned
	mark    int32  // start of the method or target being scanned
	nfields uint16 // field lines seen
}

// Character classes.
var (
	tchar     [256]bool // token (RFC 9110 §5.6.2)
	targetOK  [256]bool // visible ASCII: what a request-target may hold
	valueByte [256]bool // field-vchar, obs-text, SP and HTAB
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		tchar[c] = alnum || b != 0 && indexByte("!#$%&'*+-.^_`|~", b)
		targetOK[c] = 0x21 <= b && b <= 0x7e
		valueByte[c] = b == '\t' || b == ' ' || 0x21 <= b && b <= 0x7e || b >= 0x80
	}
}

func indexByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}

// parseHead scans buf for a complete request head. It returns the head's
// length once complete (r then holds the request line and fields; see
// finishHead for the rest), 0 when more bytes are needed (s remembers where
// to resume), or the refusal. r may be nil for a scan that only validates.
func parseHead(buf []byte, s *headState, r *Request, lim *Limits) (int, *Error) {
	if s.off != 0 && r != nil {
		// A resumed scan validates only; take the views once complete.
		n, err := parseHead(buf, s, nil, lim)
		if n == 0 || err != nil {
			return n, err
		}
		var fresh headState
		return parseHead(buf[:n], &fresh, r, lim)
	}
	if r != nil {
		r.Header = r.Header[:0]
	}
	end := len(buf)
	capped := false
	if end > lim.MaxHeaderBytes {
		end, capped = lim.MaxHeaderBytes, true
	}
	i := int(s.off)
	st := s.state
	var nameStart, nameEnd, valStart int
	for i < end {
		c := buf[i]
		switch st {
		case hStart:
			switch {
			case c == '\r':
				st = hStartLF
			case tchar[c]:
				st, s.mark = hMethod, int32(i)
				continue
			default:
				return 0, at(ErrMethod, i)
			}
		case hStartLF:
			if c != '\n' {
				return 0, at(ErrLineEnding, i)
			}
			st = hStart
		case hMethod:
			j := i
			for j < end && tchar[buf[j]] {
				j++
			}
			if j-int(s.mark) > maxMethodBytes {
				return 0, at(ErrMethodTooLong, int(s.mark)+maxMethodBytes)
			}
			if i = j; i == end {
				continue
			}
			if buf[i] != ' ' {
				return 0, at(ErrMethod, i)
			}
			if r != nil {
				r.Method = buf[s.mark:i]
			}
			st, s.mark = hTarget, int32(i+1)
		case hTarget:
			j := i
			for j < end && targetOK[buf[j]] {
				j++
			}
			if j-int(s.mark) > lim.MaxTargetBytes {
				return 0, at(ErrTargetTooLong, int(s.mark)+lim.MaxTargetBytes)
			}
			if i = j; i == end {
				continue
			}
			if buf[i] != ' ' || i == int(s.mark) {
				return 0, at(ErrTarget, i)
			}
			if r != nil {
				r.Target = buf[s.mark:i]
			}
			st, s.vpos = hVersion, 0
		case hVersion:
			switch p := s.vpos; {
			case p < 5:
				if c != "HTTP/"[p] {
					return 0, at(ErrVersion, i)
				}
			case p == 5 || p == 7:
				if c < '0' || c > '9' {
					return 0, at(ErrVersion, i)
				}
				if p == 5 {
					s.major = c - '0'
				} else {
					s.minor = c - '0'
				}
			case p == 6:
				if c != '.' {
					return 0, at(ErrVersion, i)
				}
			default:
				if c != '\r' {
					if c == '\n' {
						return 0, at(ErrLineEnding, i)
					}
					return 0, at(ErrVersion, i)
				}
				st = hReqLF
			}
			s.vpos++
		case hReqLF:
			if c != '\n' {
				return 0, at(ErrLineEnding, i)
			}
			if s.major != 1 || s.minor > 1 {
				return 0, at(ErrVersionNotSup, i)
			}
			if r != nil {
				r.Minor = int(s.minor)
			}
			st = hFieldStart
		case hFieldStart:
			switch {
			case c == '\r':
				st = hEndLF
			case tchar[c]:
				if int(s.nfields) >= lim.MaxHeaderFields {
					return 0, at(ErrTooManyFields, i)
				}
				s.nfields++
				st, nameStart = hName, i
				continue
			case c == ' ' || c == '\t':
				return 0, at(ErrObsFold, i)
			case c == '\n':
				return 0, at(ErrLineEnding, i)
			default:
				return 0, at(ErrFieldName, i)
			}
		case hName:
			j := i
			for j < end && tchar[buf[j]] {
				j++
			}
			if i = j; i == end {
				continue
			}
			switch buf[i] {
			case ':':
				nameEnd, valStart = i, i+1
				st = hValue
			case ' ', '\t':
				return 0, at(ErrSpaceBeforeColon, i)
			default:
				return 0, at(ErrFieldName, i)
			}
		case hValue:
			j := i
			for j < end && valueByte[buf[j]] {
				j++
			}
			if i = j; i == end {
				continue
			}
			switch buf[i] {
			case '\r':
				st = hFieldLF
				if r != nil {
					r.Header = append(r.Header, Field{buf[nameStart:nameEnd], trimOWS(buf[valStart:i])})
				}
			case '\n':
				return 0, at(ErrLineEnding, i)
			default:
				return 0, at(ErrFieldValue, i)
			}
		case hFieldLF:
			if c != '\n' {
				return 0, at(ErrLineEnding, i)
			}
			st = hFieldStart
		case hEndLF:
			if c != '\n' {
				return 0, at(ErrLineEnding, i)
			}
			*s = headState{}
			return i + 1, nil
		}
		i++
	}
	if capped {
		return 0, at(ErrHeaderTooLarge, end)
	}
	// Resumed scans only validate, so no view in progress needs keeping.
	s.state, s.off = st, int32(i)
	return 0, nil
}

// trimOWS drops leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
