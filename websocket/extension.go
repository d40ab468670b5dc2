package websocket

import (
	"fmt"
	"strconv"
	"strings"
)

// Extension is one extension in a Sec-WebSocket-Extensions header: a name
// and its parameters, in order (RFC 6455 §9.1).
type Extension struct {
	Name   string
	Params []Param
}

// Param is an extension parameter; Value is "" when it has none.
type Param struct {
	Name, Value string
	HasValue    bool
}

// ParseExtensions parses the values of Sec-WebSocket-Extensions headers
// (each a comma-separated list) into the extensions they offer, in order.
// Quoted parameter values are unquoted. A malformed element is an error:
// the grammar is small, and guessing at a bad offer would negotiate
// something the peer did not mean.
func ParseExtensions(values []string) ([]Extension, error) {
	var out []Extension
	for _, v := range values {
		for _, elem := range splitOutsideQuotes(v, ',') {
			elem = strings.TrimSpace(elem)
			if elem == "" {
				continue
			}
			parts := splitOutsideQuotes(elem, ';')
			name := strings.TrimSpace(parts[0])
			if !isToken(name) {
				return nil, fmt.Errorf("websocket: bad extension name %q", name)
			}
			ext := Extension{Name: name}
			for _, p := range parts[1:] {
				p = strings.TrimSpace(p)
				k, val, has := strings.Cut(p, "=")
				k, val = strings.TrimSpace(k), strings.TrimSpace(val)
				if !isToken(k) {
					return nil, fmt.Errorf("websocket: bad parameter %q of extension %s", p, name)
				}
				if has {
					if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
						val = val[1 : len(val)-1]
					}
					if !isToken(val) {
						return nil, fmt.Errorf("websocket: bad value in %q of extension %s", p, name)
					}
				}
				ext.Params = append(ext.Params, Param{Name: k, Value: val, HasValue: has})
			}
			out = append(out, ext)
		}
	}
	return out, nil
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// DeflateParams are the negotiated parameters of permessage-deflate (RFC
// 7692 §7.1). A window of 0 bits means the default, 15.
type DeflateParams struct {
	ServerNoContextTakeover bool
	ClientNoContextTakeover bool
	ServerMaxWindowBits     int
	ClientMaxWindowBits     int
}

// deflateOffer is a permessage-deflate offer as parsed, before the
// server's policy.
type deflateOffer struct {
	DeflateParams
	clientBitsNoValue bool // client_max_window_bits without a value: "I can be limited"
}

// parseDeflateParams reads a permessage-deflate element's parameters. An
// unknown parameter, a repeated one or a bad value makes the element
// invalid (§7.1): the server declines that offer and considers the next.
func parseDeflateParams(params []Param, response bool) (deflateOffer, error) {
	var o deflateOffer
	seen := map[string]bool{}
	for _, p := range params {
		name := strings.ToLower(p.Name)
		if seen[name] {
			return o, fmt.Errorf("websocket: permessage-deflate parameter %s repeated", name)
		}
		seen[name] = true
		switch name {
		case "server_no_context_takeover", "client_no_context_takeover":
			if p.HasValue {
				return o, fmt.Errorf("websocket: permessage-deflate %s takes no value", name)
			}
			if name == "server_no_context_takeover" {
				o.ServerNoContextTakeover = true
			} else {
				o.ClientNoContextTakeover = true
			}
		case "server_max_window_bits", "client_max_window_bits":
			bits := 0
			if p.HasValue {
				b, err := strconv.Atoi(p.Value)
				if err != nil || b < 8 || b > 15 || p.Value[0] == '0' {
					return o, fmt.Errorf("websocket: permessage-deflate %s=%q is not 8-15", name, p.Value)
				}
				bits = b
			} else if name == "server_max_window_bits" || response {
				return o, fmt.Errorf("websocket: permessage-deflate %s needs a value", name)
			}
			if name == "server_max_window_bits" {
				o.ServerMaxWindowBits = bits
			} else {
				o.ClientMaxWindowBits = bits
				o.clientBitsNoValue = !p.HasValue
			}
		default:
			return o, fmt.Errorf("websocket: unknown permessage-deflate parameter %s", name)
		}
	}
	return o, nil
}

// String is the extension's element in a Sec-WebSocket-Extensions header.
func (p DeflateParams) String() string {
	var b strings.Builder
	b.WriteString("permessage-deflate")
	if p.ServerNoContextTakeover {
		b.WriteString("; server_no_context_takeover")
	}
	if p.ClientNoContextTakeover {
		b.WriteString("; client_no_context_takeover")
	}
	if p.ServerMaxWindowBits != 0 {
		fmt.Fprintf(&b, "; server_max_window_bits=%d", p.ServerMaxWindowBits)
	}
	if p.ClientMaxWindowBits != 0 {
		fmt.Fprintf(&b, "; client_max_window_bits=%d", p.ClientMaxWindowBits)
	}
	return b.String()
}

// Compression is a server's or client's policy for permessage-deflate.
// The zero value negotiates it with the defaults.
type Compression struct {
	// Threshold is the smallest message compressed; smaller ones go as
	// they are, since deflate's framing outweighs what it saves (default
	// DefaultCompressThreshold; negative compresses everything).
	Threshold int
	// Level is the flate level, 1-9 or -2 for Huffman only (0: BestSpeed,
	// 1).
	Level int
	// ServerContextTakeover lets the server keep its compressor's window
	// from one message to the next (better ratios, a compressor of some
	// 1 MB per conn). Off, the server answers server_no_context_takeover
	// and compressors are pooled.
	ServerContextTakeover bool
	// ClientNoContextTakeover asks the client not to keep its window, so
	// that the server keeps no 32 KiB inflate window per conn.
	ClientNoContextTakeover bool
	// ClientMaxWindowBits, 8-15, limits the client's window when its offer
	// allows (0: no limit).
	ClientMaxWindowBits int
}

// DefaultCompressThreshold is the default Compression.Threshold.
const DefaultCompressThreshold = 128

// negotiateDeflate picks the first permessage-deflate offer the server can
// accept and returns the parameters of its response (RFC 7692 §7.1).
func (c *Compression) negotiateDeflate(offers []Extension) (*DeflateParams, bool) {
	for _, ext := range offers {
		if !strings.EqualFold(ext.Name, "permessage-deflate") {
			continue
		}
		o, err := parseDeflateParams(ext.Params, false)
		if err != nil {
			continue
		}
		resp := DeflateParams{
			// Both are echoed: a server may always decline context takeover
			// for itself, and the client's hint binds it either way.
			ServerNoContextTakeover: o.ServerNoContextTakeover || !c.ServerContextTakeover,
			ClientNoContextTakeover: o.ClientNoContextTakeover || c.ClientNoContextTakeover,
			// The server honours a limit on its window by compressing
			// without back-references (flate.HuffmanOnly): the compressor's
			// window is always 32 KiB.
			ServerMaxWindowBits: o.ServerMaxWindowBits,
		}
		if c.ClientMaxWindowBits != 0 && o.ClientMaxWindowBits != 0 || c.ClientMaxWindowBits != 0 && o.clientBitsNoValue {
			resp.ClientMaxWindowBits = c.ClientMaxWindowBits
			if o.ClientMaxWindowBits != 0 && o.ClientMaxWindowBits < resp.ClientMaxWindowBits {
				resp.ClientMaxWindowBits = o.ClientMaxWindowBits
			}
		} else if o.ClientMaxWindowBits != 0 {
			resp.ClientMaxWindowBits = o.ClientMaxWindowBits
		}
		return &resp, true
	}
	return nil, false
}

// acceptDeflateResponse checks a server's permessage-deflate response to
// a client's offer (RFC 7692 §7.1: a client fails the connection on a
// response it cannot accept).
func acceptDeflateResponse(exts []Extension) (*DeflateParams, error) {
	var got *DeflateParams
	for _, ext := range exts {
		if !strings.EqualFold(ext.Name, "permessage-deflate") || got != nil {
			return nil, fmt.Errorf("websocket: server answered with extension %q the client did not offer", ext.Name)
		}
		o, err := parseDeflateParams(ext.Params, true)
		if err != nil {
			return nil, err
		}
		got = &o.DeflateParams
	}
	return got, nil
}
