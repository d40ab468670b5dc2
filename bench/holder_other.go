//go:build !linux

package main

import (
	"errors"
	"net/netip"
	"time"
)

// holdConfig describes the conns to open (see holder_linux.go).
type holdConfig struct {
	Addr    string
	Conns   int
	Active  float64
	Size    int
	Workers int
	PerIP   int
	SrcBase netip.Addr
	Window  int
	Timeout time.Duration
}

// holder needs epoll; elsewhere the c1m scenario reports itself unavailable.
type holder struct{ Opened time.Duration }

type exchangeResult struct {
	Latency, Lag *Histogram
	Sent, Missed uint64
}

func openHolder(holdConfig) (*holder, error) {
	return nil, errors.New("c1m: the conn holder needs Linux (epoll)")
}

func (h *holder) Conns() int { return 0 }

func (h *holder) exchange(d, drain time.Duration) (*exchangeResult, error) {
	return nil, errors.New("c1m: needs Linux")
}

func (h *holder) Close() {}

type peerCloser struct{}

func (h *holder) closeOnEOF() *peerCloser { return &peerCloser{} }

func (pc *peerCloser) wait(h *holder, timeout time.Duration) (eof, reset int64, err error) {
	return 0, 0, nil
}
