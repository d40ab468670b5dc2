package websocket

import (
	"errors"
	"fmt"
)

// CloseCode is the status code of a Close frame (RFC 6455 §7.4).
type CloseCode uint16

// Close codes defined by RFC 6455 §7.4.1 and the IANA registry.
const (
	CloseNormal             CloseCode = 1000
	CloseGoingAway          CloseCode = 1001
	CloseProtocolError      CloseCode = 1002
	CloseUnsupportedData    CloseCode = 1003
	CloseNoStatus           CloseCode = 1005 // never sent: a Close frame without a code
	CloseAbnormal           CloseCode = 1006 // never sent: the conn ended without a Close frame
	CloseInvalidPayload     CloseCode = 1007
	ClosePolicyViolation    CloseCode = 1008
	CloseMessageTooBig      CloseCode = 1009
	CloseMandatoryExtension CloseCode = 1010
	CloseInternalError      CloseCode = 1011
	CloseServiceRestart     CloseCode = 1012
	CloseTryAgainLater      CloseCode = 1013
	CloseBadGateway         CloseCode = 1014
	CloseTLSHandshake       CloseCode = 1015 // never sent
)

// Sentinels a caller can test with errors.Is; each maps to the close code
// the conn is closed with.
var (
	// ErrProtocol is a violation of the framing rules (close code 1002):
	// reserved bits, a reserved opcode, a fragmented or long control frame,
	// an unmasked client frame or a masked server frame, a continuation
	// out of place, a bad close payload.
	ErrProtocol = errors.New("websocket: protocol error")
	// ErrInvalidUTF8 is a text message or close reason that is not UTF-8
	// (close code 1007).
	ErrInvalidUTF8 = errors.New("websocket: invalid UTF-8")
	// ErrMessageTooBig is a message over the size limit, before or after
	// inflating (close code 1009).
	ErrMessageTooBig = errors.New("websocket: message too big")
	// ErrClosed is returned by writes on a conn whose closing handshake
	// has begun.
	ErrClosed = errors.New("websocket: closed")
	// ErrPongTimeout is the OnClose cause of a conn whose pong did not
	// arrive in time (keepalive).
	ErrPongTimeout = errors.New("websocket: pong timeout")
	// ErrHandshakeTimeout is a client's opening handshake that did not
	// complete within HandshakeTimeout.
	ErrHandshakeTimeout = errors.New("websocket: opening handshake timed out")
	// ErrSlowReceiver is the OnClose cause of a conn whose unsent output
	// passed the bound (MaxBacklog).
	ErrSlowReceiver = errors.New("websocket: receiver too slow")
)

// Error is a protocol violation by the peer: what was wrong, and the code
// the conn is closed with. It wraps one of the sentinels above.
type Error struct {
	Code   CloseCode
	Detail string
	err    error
}

func (e *Error) Error() string { return fmt.Sprintf("%v: %s", e.err, e.Detail) }

// Unwrap returns the sentinel (ErrProtocol, ErrInvalidUTF8, ...).
func (e *Error) Unwrap() error { return e.err }

func protocolErr(format string, args ...any) error {
	return &Error{Code: CloseProtocolError, Detail: fmt.Sprintf(format, args...), err: ErrProtocol}
}

func utf8Err(where string) error {
	return &Error{Code: CloseInvalidPayload, Detail: where, err: ErrInvalidUTF8}
}

func tooBigErr(format string, args ...any) error {
	return &Error{Code: CloseMessageTooBig, Detail: fmt.Sprintf(format, args...), err: ErrMessageTooBig}
}

// CloseError is the Close frame the peer sent: the OnClose cause of a conn
// the peer closed with a code other than 1000 (normal) or 1001 (going away).
type CloseError struct {
	Code   CloseCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket: peer closed with %d", e.Code)
	}
	return fmt.Sprintf("websocket: peer closed with %d (%s)", e.Code, e.Reason)
}

// CloseCodeFor is the code a conn is closed with after err: the code of a
// protocol violation (*Error), or 1011 (internal error) for anything else,
// or 1000 for nil.
func CloseCodeFor(err error) CloseCode {
	if err == nil {
		return CloseNormal
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CloseInternalError
}
