package websocket

import (
	"encoding/binary"
	"unicode/utf8"
)

// ValidCloseCode reports whether a peer may send code in a Close frame
// (RFC 6455 §7.4): the defined codes but 1004-1006 and 1015 (reserved, or
// meant for reports, never the wire), and the ranges 3000-3999 (registered
// with IANA) and 4000-4999 (private use). 1012-1014 are IANA-registered
// since the RFC.
func ValidCloseCode(code CloseCode) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// MaxCloseReason is the longest reason a Close frame carries: a control
// frame's 125 bytes less the 2-byte code.
const MaxCloseReason = MaxControlPayload - 2

// ParseClosePayload decodes a Close frame's payload (§5.5.1): empty (code
// CloseNoStatus), or a valid code followed by a UTF-8 reason. A payload of
// one byte or an invalid code is a protocol error (1002); a reason that is
// not UTF-8, ErrInvalidUTF8 (1007).
func ParseClosePayload(p []byte) (code CloseCode, reason string, err error) {
	switch len(p) {
	case 0:
		return CloseNoStatus, "", nil
	case 1:
		return 0, "", protocolErr("close payload of 1 byte: a code takes 2")
	}
	code = CloseCode(binary.BigEndian.Uint16(p))
	if !ValidCloseCode(code) {
		return 0, "", protocolErr("close code %d is not one a peer may send", code)
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", utf8Err("close reason")
	}
	return code, string(p[2:]), nil
}

// AppendClosePayload appends a Close frame's payload to dst: code and
// reason, the reason cut to MaxCloseReason bytes at a code point's
// boundary. CloseNoStatus gives an empty payload.
func AppendClosePayload(dst []byte, code CloseCode, reason string) []byte {
	if code == CloseNoStatus {
		return dst
	}
	if len(reason) > MaxCloseReason {
		cut := MaxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}
