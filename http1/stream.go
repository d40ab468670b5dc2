package http1

// A conn's inbound bytes are a stream of requests; reader walks it: the
// head, then the body by its framing, then the next head. It keeps only
// where it stopped (small: an idle conn holds one), never the bytes, which
// stay in the caller's buffer until consumed.

// Events reader.next reports.
const (
	evMore = iota // more bytes are needed
	evHead        // a request head: r is filled, n bytes consumed
	evData        // a piece of body: data, n bytes consumed
	evEnd         // the body is complete (r.Trailer parsed), n bytes consumed
)

// Reader phases.
const (
	pHead uint8 = iota
	pLength
	pChunked
)

type reader struct {
	phase  uint8
	head   headState
	left   int64          // Content-Length body bytes still to come
	chunks *chunkedReader // a chunked body in progress (made per chunked request: idle conns hold none)
}

// chunkedReader is a chunked body being read.
type chunkedReader struct {
	chunkedState
	tr []byte // the trailer section, collected
}

// next takes the next event from in, the unconsumed bytes. maxBody caps
// the body (-1: none, for streamed bodies).
func (rd *reader) next(in []byte, r *Request, lim *Limits, maxBody int64) (ev int, n int, data []byte, err *Error) {
	switch rd.phase {
	case pHead:
		n, err := parseHead(in, &rd.head, r, lim)
		if err != nil || n == 0 {
			return evMore, 0, nil, err
		}
		if err := finishHead(r); err != nil {
			return evMore, 0, nil, err
		}
		switch {
		case r.Chunked:
			rd.phase, rd.chunks = pChunked, &chunkedReader{}
		case r.ContentLength > 0:
			if maxBody >= 0 && r.ContentLength > maxBody {
				return evMore, 0, nil, ErrBodyTooLarge
			}
			rd.phase, rd.left = pLength, r.ContentLength
		}
		return evHead, n, nil, nil
	case pLength:
		if rd.left == 0 {
			rd.phase = pHead
			return evEnd, 0, nil, nil
		}
		if len(in) == 0 {
			return evMore, 0, nil, nil
		}
		k := int64(len(in))
		if k > rd.left {
			k = rd.left
		}
		rd.left -= k
		return evData, int(k), in[:k], nil
	default:
		total := 0
		for {
			n, data, trailer, done, err := rd.chunks.decodeChunked(in[total:], maxBody, lim)
			total += n
			if err != nil {
				return evMore, 0, nil, err
			}
			if len(trailer) > 0 {
				rd.chunks.tr = append(rd.chunks.tr, trailer...)
			}
			if done {
				tr := rd.chunks.tr
				rd.phase, rd.chunks = pHead, nil
				if err := trailers(tr, r, lim); err != nil {
					return evMore, 0, nil, err
				}
				return evEnd, total, nil, nil
			}
			if len(data) > 0 {
				return evData, total, data, nil
			}
			if n == 0 || total == len(in) {
				return evMore, total, nil, nil
			}
		}
	}
}

// trailers parses a collected trailer section as field lines into
// r.Trailer. The section's bytes were copied out of the stream, so the
// views stay valid after the body is consumed.
func trailers(tr []byte, r *Request, lim *Limits) *Error {
	r.Trailer = r.Trailer[:0]
	if len(tr) == 0 {
		return nil
	}
	tr = append(tr, '\r', '\n')
	var t Request
	t.Header = r.Trailer
	s := headState{state: hFieldStart}
	n, err := parseHead(tr, &s, &t, lim)
	if err == nil && n != len(tr) {
		err = ErrHeaderTooLarge // cannot happen: the section ends in CRLF CRLF
	}
	r.Trailer = t.Header
	return err
}
