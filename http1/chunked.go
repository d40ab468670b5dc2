package http1

// The chunked transfer coding (RFC 9112 §7.1), decoded incrementally: any
// split of the bytes, one at a time included, gives the same data and the
// same error. Chunk data comes out as views into the input. Extensions are
// checked for bytes a line may not hold and bounded with the size line;
// their meaning is ignored (§7.1.1 allows it). The trailer section is
// handed back raw for the caller to collect and parse as fields.

// Chunked decoder states.
const (
	cSize     uint8 = iota // at the first hex digit of a chunk size
	cSizeMore              // in the size's hex digits
	cSizeWS                // whitespace after the size: only ';' may follow (BWS)
	cExt                   // in chunk extensions
	cSizeLF                // CR after the size line seen
	cData                  // in chunk data
	cDataCR                // after the data, at its CR
	cDataLF                // CR after the data seen
	cTrStart               // at the start of a trailer line or of the final empty line
	cTrLine                // in a trailer line
	cTrLF                  // CR in a trailer line seen
	cEndLF                 // CR of the final empty line seen
	cDone
)

// chunkedState is a chunked body being decoded.
type chunkedState struct {
	state   uint8
	line    int32 // bytes of the current size line or trailer section
	size    int64 // chunk size being read, then bytes of the chunk left
	total   int64 // data bytes decoded so far
	trailer bool  // a trailer section has bytes (not only the final CRLF)
}

// decodeChunked decodes from in. It returns the bytes of in consumed, one
// piece of chunk data (a view into in, nil if none), trailer bytes (a view,
// to be appended to the trailer section), and whether the body ended (after
// its trailer section). It stops after each piece of data or trailer bytes,
// so the caller loops while consumed > 0 and not done. maxBody < 0: no cap.
func (d *chunkedState) decodeChunked(in []byte, maxBody int64, lim *Limits) (n int, data, trailer []byte, done bool, err *Error) {
	i, tstart := 0, -1
	if d.state == cTrLine || d.state == cTrLF {
		tstart = 0 // a trailer line continues
	}
	for i < len(in) {
		c := in[i]
		switch d.state {
		case cSize, cSizeMore:
			v := unhex(c)
			if v < 0 {
				if d.state == cSize {
					return i, nil, nil, false, at(ErrChunkSize, i)
				}
				switch c {
				case ';':
					d.state = cExt
				case ' ', '\t':
					d.state = cSizeWS
				case '\r':
					d.state = cSizeLF
				default:
					return i, nil, nil, false, at(ErrChunkSize, i)
				}
				break
			}
			if d.size > (1<<63-1)>>4 {
				return i, nil, nil, false, at(ErrChunkOverflow, i)
			}
			d.size = d.size<<4 | int64(v)
			d.state = cSizeMore
		case cSizeWS:
			switch c {
			case ' ', '\t':
			case ';':
				d.state = cExt
			default:
				return i, nil, nil, false, at(ErrChunkSize, i)
			}
		case cExt:
			switch {
			case c == '\r':
				d.state = cSizeLF
			case !valueByte[c]:
				return i, nil, nil, false, at(ErrChunkSize, i)
			}
		case cSizeLF:
			if c != '\n' {
				return i, nil, nil, false, at(ErrLineEnding, i)
			}
			if maxBody >= 0 && d.size > maxBody-d.total {
				return i, nil, nil, false, at(ErrBodyTooLarge, i)
			}
			d.line = 0
			if d.size == 0 {
				d.state = cTrStart
			} else {
				d.state = cData
			}
			i++
			continue
		case cData:
			k := int64(len(in) - i)
			if k > d.size {
				k = d.size
			}
			d.size -= k
			d.total += k
			if d.size == 0 {
				d.state = cDataCR
			}
			return i + int(k), in[i : i+int(k)], nil, false, nil
		case cDataCR:
			if c != '\r' {
				return i, nil, nil, false, at(ErrChunkData, i)
			}
			d.state = cDataLF
		case cDataLF:
			if c != '\n' {
				return i, nil, nil, false, at(ErrChunkData, i)
			}
			d.state = cSize
			i++
			continue
		case cTrStart:
			switch c {
			case '\r':
				// The final empty line: hand out the section so far.
				d.state = cEndLF
				if tstart >= 0 {
					return i + 1, nil, in[tstart:i], false, nil
				}
			case '\n':
				return i, nil, nil, false, at(ErrLineEnding, i)
			default:
				if tstart < 0 {
					tstart = i
				}
				d.state, d.trailer = cTrLine, true
			}
		case cTrLine:
			switch c {
			case '\r':
				d.state = cTrLF
			case '\n':
				return i, nil, nil, false, at(ErrLineEnding, i)
			}
		case cTrLF:
			if c != '\n' {
				return i, nil, nil, false, at(ErrLineEnding, i)
			}
			d.state = cTrStart
		case cEndLF:
			if c != '\n' {
				return i, nil, nil, false, at(ErrLineEnding, i)
			}
			d.state = cDone
			return i + 1, nil, nil, true, nil
		case cDone:
			return i, nil, nil, true, nil
		}
		switch {
		case d.state <= cSizeLF:
			d.line++
			if int(d.line) > lim.MaxChunkLineBytes {
				return i, nil, nil, false, at(ErrChunkLine, i)
			}
		case d.state >= cTrStart && d.state <= cTrLF:
			d.line++
			if int(d.line) > lim.MaxHeaderBytes {
				return i, nil, nil, false, at(ErrHeaderTooLarge, i)
			}
		}
		i++
	}
	if tstart >= 0 {
		return i, nil, in[tstart:i], false, nil
	}
	return i, nil, nil, d.state == cDone, nil
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
