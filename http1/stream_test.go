package http1

import (
	"fmt"
	"strings"
)

// parseStream runs reader over input arriving in pieces cut at the given
// offsets, consuming bytes as a server does, and returns its event log: one
// entry per request (`GET /t 1.1 [Host: a] body "…" trailer [k: v]`), then
// "incomplete" if the input stops inside a request, or the refusal's
// status ("400 …") after which nothing more is read.
func parseStream(input []byte, cuts []int, lim Limits) []string {
	lim = lim.withDefaults()
	var (
		rd   reader
		r    Request
		in   []byte
		log  []string
		cur  strings.Builder
		body []byte
		prev int
	)
	cuts = append(append([]int(nil), cuts...), len(input))
	inRequest := false
	for _, cut := range cuts {
		if cut < prev || cut > len(input) {
			continue
		}
		in = append(in, input[prev:cut]...)
		prev = cut
		for {
			ev, n, data, err := rd.next(in, &r, &lim, lim.MaxBodyBytes)
			in = in[n:]
			if err != nil {
				return append(log, fmt.Sprintf("%d %s", err.Status, err.Reason))
			}
			if ev == evMore {
				break
			}
			switch ev {
			case evHead:
				inRequest = true
				cur.Reset()
				fmt.Fprintf(&cur, "%s %s 1.%d %s", r.Method, r.Target, r.Minor, fieldsString(r.Header))
				if r.Close {
					cur.WriteString(" close")
				}
				body = body[:0]
				if !r.Chunked && r.ContentLength == 0 {
					log = append(log, cur.String())
					inRequest = false
				}
			case evData:
				body = append(body, data...)
			case evEnd:
				fmt.Fprintf(&cur, " body %q", body)
				if len(r.Trailer) > 0 {
					fmt.Fprintf(&cur, " trailer %s", fieldsString(r.Trailer))
				}
				log = append(log, cur.String())
				inRequest = false
			}
		}
	}
	if inRequest || rd.head.off > 0 || len(in) > 0 {
		log = append(log, "incomplete")
	}
	return log
}

func fieldsString(fs Fields) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %s", f.Name, f.Value)
	}
	b.WriteByte(']')
	return b.String()
}
