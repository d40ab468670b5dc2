package http1

import (
	"errors"
	"strconv"
)

// Error is a request the server refuses: the status it answers with (the
// conn is closed after it) and what was wrong with which bytes. errors.Is
// matches it against the Err* values below by their reason.
type Error struct {
	Status int    // 400, 413, 414, 417, 431, 501 or 505
	Reason string // what was wrong, for logs
	Offset int    // the offending byte's offset in the request head or body framing, -1 if none
}

func (e *Error) Error() string {
	s := "http1: " + strconv.Itoa(e.Status) + " " + e.Reason
	if e.Offset >= 0 {
		s += " at byte " + strconv.Itoa(e.Offset)
	}
	return s
}

// Is reports whether target is an *Error with the same status and reason.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Status == e.Status && t.Reason == e.Reason
}

// The refusals, one per rule; each is an *Error (compare with errors.Is).
var (
	ErrMethod           = &Error{400, "bad method token", -1}
	ErrMethodTooLong    = &Error{501, "method too long to be one this server implements", -1}
	ErrTarget           = &Error{400, "bad request-target", -1}
	ErrTargetTooLong    = &Error{414, "request-target over the limit", -1}
	ErrVersion          = &Error{400, "malformed HTTP-version", -1}
	ErrVersionNotSup    = &Error{505, "HTTP version other than 1.0 and 1.1", -1}
	ErrLineEnding       = &Error{400, "line not ended by CRLF (bare CR or LF)", -1}
	ErrObsFold          = &Error{400, "obs-fold (field line starting with whitespace)", -1}
	ErrFieldName        = &Error{400, "bad field-name character", -1}
	ErrSpaceBeforeColon = &Error{400, "whitespace between field-name and colon", -1}
	ErrFieldValue       = &Error{400, "bad field-value character", -1}
	ErrHeaderTooLarge   = &Error{431, "header section over the limit", -1}
	ErrTooManyFields    = &Error{431, "more header fields than the limit", -1}
	ErrContentLength    = &Error{400, "bad Content-Length", -1}
	ErrContentLengths   = &Error{400, "several differing Content-Length values", -1}
	ErrCLAndTE          = &Error{400, "both Content-Length and Transfer-Encoding", -1}
	ErrTENotChunked     = &Error{400, "Transfer-Encoding whose last coding is not chunked", -1}
	ErrTEUnknown        = &Error{501, "unknown transfer coding", -1}
	ErrTEHTTP10         = &Error{400, "Transfer-Encoding in an HTTP/1.0 request", -1}
	ErrHost             = &Error{400, "missing, repeated or bad Host", -1}
	ErrExpect           = &Error{417, "unsupported expectation", -1}
	ErrBodyTooLarge     = &Error{413, "body over the limit", -1}
	ErrChunkSize        = &Error{400, "bad chunk size", -1}
	ErrChunkOverflow    = &Error{400, "chunk size overflows", -1}
	ErrChunkLine        = &Error{400, "chunk line (size and extensions) over the limit", -1}
	ErrChunkData        = &Error{400, "chunk data not followed by CRLF", -1}
	ErrNotImplemented   = &Error{501, "method not implemented", -1}
)

// at copies a rule's error with the offset of the offending byte.
func at(e *Error, off int) *Error { return &Error{e.Status, e.Reason, off} }
