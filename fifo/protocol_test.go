package fifo

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRequestRoundTrip(t *testing.T) {
	req := pairNames("/tmp/evloop-fifo-42-123 with space", 42, "0123456789abcdef")
	line := req.Line()
	require.True(t, bytes.HasSuffix(line, []byte("\n")))
	got, err := ParseRequest(line)
	require.NoError(t, err)
	require.Equal(t, req, got)
	require.Equal(t, "/tmp/evloop-fifo-42-123 with space", got.Dir())
}

func TestParseRequestRejects(t *testing.T) {
	good := pairNames("/tmp/evloop-fifo-42-1", 42, "0123456789abcdef")
	q := func(s string) string { return `"` + s + `"` }
	cases := map[string]string{
		"empty":            "",
		"newline only":     "\n",
		"no magic":         "hello 42 " + q(good.C2S) + " " + q(good.S2C),
		"bad pid":          Magic + " -1 " + q(good.C2S) + " " + q(good.S2C),
		"pid with zeros":   Magic + " 042 " + q(good.C2S) + " " + q(good.S2C),
		"pid mismatch":     Magic + " 43 " + q(good.C2S) + " " + q(good.S2C),
		"unquoted":         Magic + " 42 " + good.C2S + " " + good.S2C,
		"one path":         Magic + " 42 " + q(good.C2S),
		"trailing":         Magic + " 42 " + q(good.C2S) + " " + q(good.S2C) + " x",
		"relative":         Magic + ` 42 "evloop-fifo-42-1/42-0123456789abcdef.c2s" "evloop-fifo-42-1/42-0123456789abcdef.s2c"`,
		"unclean":          Magic + ` 42 "/tmp/../tmp/evloop-fifo-42-1/42-0123456789abcdef.c2s" "/tmp/evloop-fifo-42-1/42-0123456789abcdef.s2c"`,
		"other dirs":       Magic + ` 42 "/tmp/evloop-fifo-42-1/42-0123456789abcdef.c2s" "/tmp/evloop-fifo-42-2/42-0123456789abcdef.s2c"`,
		"not our dir":      Magic + ` 42 "/etc/42-0123456789abcdef.c2s" "/etc/42-0123456789abcdef.s2c"`,
		"names differ":     Magic + ` 42 "/tmp/evloop-fifo-42-1/42-0123456789abcdef.c2s" "/tmp/evloop-fifo-42-1/42-0123456789abcdee.s2c"`,
		"swapped":          Magic + " 42 " + q(good.S2C) + " " + q(good.C2S),
		"short random":     Magic + ` 42 "/tmp/evloop-fifo-42-1/42-0123.c2s" "/tmp/evloop-fifo-42-1/42-0123.s2c"`,
		"control char":     Magic + ` 42 "/tmp/evloop-fifo-42-1\x01/42-0123456789abcdef.c2s" "/tmp/evloop-fifo-42-1\x01/42-0123456789abcdef.s2c"`,
		"nul":              Magic + ` 42 "/tmp/evloop-fifo-42-1\x00/42-0123456789abcdef.c2s" "/tmp/evloop-fifo-42-1\x00/42-0123456789abcdef.s2c"`,
		"single quoted":    Magic + " 42 '" + good.C2S + "' '" + good.S2C + "'",
		"double space":     Magic + "  42 " + q(good.C2S) + " " + q(good.S2C),
		"upper-case hex":   Magic + ` 42 "/tmp/evloop-fifo-42-1/42-0123456789ABCDEF.c2s" "/tmp/evloop-fifo-42-1/42-0123456789ABCDEF.s2c"`,
		"version mismatch": "evloop-fifo/2 42 " + q(good.C2S) + " " + q(good.S2C),
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRequest([]byte(line + "\n"))
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
	_, err := ParseRequest([]byte(strings.Repeat("x", MaxRequestLen+1)))
	require.ErrorIs(t, err, ErrTooLong)
}

func TestParseTarget(t *testing.T) {
	path, cfg, err := ParseTarget("/run/app.fifo")
	require.NoError(t, err)
	require.Equal(t, "/run/app.fifo", path)
	require.Equal(t, ListenConfig{}, cfg)

	path, cfg, err = ParseTarget("/run/app.fifo?mode=0660&timeout=250ms")
	require.NoError(t, err)
	require.Equal(t, "/run/app.fifo", path)
	require.Equal(t, ListenConfig{Mode: 0o660, HandshakeTimeout: 250 * time.Millisecond}, cfg)

	for _, bad := range []string{"", "?mode=0600", "/p?mode=999", "/p?mode=0", "/p?timeout=-1s", "/p?timeout=x", "/p?colour=red", "/p?%zz"} {
		_, _, err := ParseTarget(bad)
		require.Error(t, err, bad)
	}
}

func TestAddr(t *testing.T) {
	a := Addr{Path: "/tmp/echo.fifo"}
	require.Equal(t, "fifo:///tmp/echo.fifo", a.Network()+"://"+a.String())
	require.False(t, errors.Is(ErrNoServer, ErrClosed))
}
