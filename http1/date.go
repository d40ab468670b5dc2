package http1

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// The Date field (RFC 9110 §6.6.1) changes once a second, so it is
// formatted once a second by one goroutine per process while a Server is
// booted, not per response.

var (
	dateMu    sync.Mutex
	dateUsers int
	dateStop  chan struct{}
	dateDone  chan struct{}
	dateValue atomic.Pointer[[]byte] // "Date: ...\r\n"; nil while no Server runs
)

func formatDate(t time.Time) *[]byte {
	b := make([]byte, 0, 40)
	b = append(b, "Date: "...)
	b = t.UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n"...)
	return &b
}

// startDate starts the refresher for one more Server.
func startDate() {
	dateMu.Lock()
	defer dateMu.Unlock()
	if dateUsers++; dateUsers > 1 {
		return
	}
	dateValue.Store(formatDate(time.Now()))
	dateStop, dateDone = make(chan struct{}), make(chan struct{})
	go func(stop, done chan struct{}) {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				dateValue.Store(formatDate(now))
			}
		}
	}(dateStop, dateDone)
}

// stopDate stops the refresher when its last Server stops.
func stopDate() {
	dateMu.Lock()
	defer dateMu.Unlock()
	if dateUsers--; dateUsers > 0 {
		return
	}
	close(dateStop)
	<-dateDone
	dateValue.Store(nil)
}

// appendDate appends the Date field line; a Server used without OnBoot
// (a per-listener handler under StartSpecs) formats it per response.
func appendDate(b []byte) []byte {
	if d := dateValue.Load(); d != nil {
		return append(b, *d...)
	}
	return append(b, *formatDate(time.Now())...)
}
