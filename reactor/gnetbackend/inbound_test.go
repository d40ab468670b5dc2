//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package gnetbackend

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// TestPeekNextShortBuffer waits for an 8-byte frame sent in two pieces and
// checks the short-buffer answers in between.
func TestPeekNextShortBuffer(t *testing.T) {
	type seen struct {
		peekShort, nextShort  error
		peekPartial           string
		nextZero, peekZero    int
		discardZero, buffered int
		frame                 string
		readEmpty             error
	}
	results := make(chan seen, 4)
	r := newRecorder()
	r.onTraffic = func(c conn.Conn) reactor.Action {
		var s seen
		s.buffered = c.InboundBuffered()
		if c.InboundBuffered() < 8 {
			b, err := c.Peek(8)
			s.peekPartial, s.peekShort = string(b), err
			_, s.nextShort = c.Next(8)
			z, _ := c.Next(0)
			s.nextZero = len(z)
			z, _ = c.Peek(0)
			s.peekZero = len(z)
			s.discardZero, _ = c.Discard(0)
			results <- s
			return reactor.None
		}
		b, err := c.Next(8)
		require.NoError(t, err)
		s.frame = string(b)
		_, s.readEmpty = c.Read(make([]byte, 4))
		results <- s
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	_, err := c.Write([]byte("abc"))
	require.NoError(t, err)
	s := within(t, results, "first piece")
	require.Equal(t, 3, s.buffered)
	require.ErrorIs(t, s.peekShort, io.ErrShortBuffer)
	require.Equal(t, "abc", s.peekPartial, "Peek returns what there is")
	require.ErrorIs(t, s.nextShort, io.ErrShortBuffer)
	require.Zero(t, s.nextZero, "Next(0) consumes nothing")
	require.Zero(t, s.peekZero)
	require.Zero(t, s.discardZero, "Discard(0) drops nothing")

	_, err = c.Write([]byte("defgh"))
	require.NoError(t, err)
	s = within(t, results, "second piece")
	require.Equal(t, 8, s.buffered, "nothing was consumed by the short calls")
	require.Equal(t, "abcdefgh", s.frame)
	require.ErrorIs(t, s.readEmpty, conn.ErrNoData)
}

func TestReadPeekDiscard(t *testing.T) {
	type seen struct {
		read, peek string
		discarded  int
		left       int
	}
	results := make(chan seen, 1)
	r := newRecorder()
	r.onTraffic = func(c conn.Conn) reactor.Action {
		if c.InboundBuffered() < 10 {
			return reactor.None
		}
		var s seen
		p := make([]byte, 3)
		n, _ := c.Read(p)
		s.read = string(p[:n])
		b, _ := c.Peek(2)
		s.peek = string(b)
		s.discarded, _ = c.Discard(4)
		s.left = c.InboundBuffered()
		c.Discard(-1)
		results <- s
		return reactor.None
	}
	e := start(t, r, []string{"tcp://127.0.0.1:0"})
	c := dial(t, e, 0)
	_, err := c.Write([]byte("0123456789"))
	require.NoError(t, err)
	s := within(t, results, "traffic")
	require.Equal(t, seen{read: "012", peek: "34", discarded: 4, left: 3}, s)
}
