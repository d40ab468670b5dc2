package codec

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// lifecycle records every callback the Adapter forwards to it.
type lifecycle struct {
	calls    []string
	onFrame  func(c conn.Conn, frame []byte) reactor.Action
	closeErr error
}

func (l *lifecycle) OnFrame(c conn.Conn, frame []byte) reactor.Action {
	l.calls = append(l.calls, "frame "+string(frame))
	if l.onFrame != nil {
		return l.onFrame(c, frame)
	}
	return reactor.None
}
func (l *lifecycle) OnBoot(reactor.Engine) reactor.Action {
	l.calls = append(l.calls, "boot")
	return reactor.Shutdown
}
func (l *lifecycle) OnOpen(c conn.Conn) reactor.Action {
	l.calls = append(l.calls, "open")
	return reactor.Close
}
func (l *lifecycle) OnClose(c conn.Conn, err error) {
	l.calls = append(l.calls, "close")
	l.closeErr = err
}
func (l *lifecycle) OnTick() (time.Duration, reactor.Action) {
	l.calls = append(l.calls, "tick")
	return 7 * time.Second, reactor.Shutdown
}
func (l *lifecycle) OnShutdown(reactor.Engine) { l.calls = append(l.calls, "shutdown") }

// OnTraffic would steal the adapter's bytes; it must never be called.
func (l *lifecycle) OnTraffic(c conn.Conn) reactor.Action {
	panic("the adapter forwarded OnTraffic")
}

func TestAdapterForwardsLifecycle(t *testing.T) {
	h := &lifecycle{}
	a := New(h, NewLine(0))
	fc := newFakeConn(true)
	if a.OnBoot(nil) != reactor.Shutdown {
		t.Error("OnBoot's action was not passed back")
	}
	if a.OnOpen(fc) != reactor.Close {
		t.Error("OnOpen's action was not passed back")
	}
	fc.feed([]byte("x\n"))
	a.OnTraffic(fc)
	if d, act := a.OnTick(); d != 7*time.Second || act != reactor.Shutdown {
		t.Errorf("OnTick = %v, %v", d, act)
	}
	closeErr := errors.New("reset by peer")
	a.OnClose(fc, closeErr)
	a.OnShutdown(nil)
	want := fmt.Sprint([]string{"boot", "open", "frame x", "tick", "close", "shutdown"})
	if got := fmt.Sprint(h.calls); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	if h.closeErr != closeErr {
		t.Errorf("OnClose err %v, want the engine's %v", h.closeErr, closeErr)
	}
}

// onlyFrames has no lifecycle callbacks at all.
type onlyFrames struct{ n int }

func (o *onlyFrames) OnFrame(conn.Conn, []byte) reactor.Action { o.n++; return reactor.None }

func TestAdapterDefaults(t *testing.T) {
	h := &onlyFrames{}
	a := New(h, NewLine(0))
	fc := newFakeConn(true)
	if a.OnBoot(nil) != reactor.None || a.OnOpen(fc) != reactor.None {
		t.Error("default OnBoot/OnOpen not None")
	}
	if d, act := a.OnTick(); d != time.Second || act != reactor.None {
		t.Errorf("default OnTick = %v, %v", d, act)
	}
	fc.feed([]byte("a\nb\n"))
	a.OnTraffic(fc)
	a.OnClose(fc, nil)
	a.OnShutdown(nil)
	if h.n != 2 {
		t.Errorf("%d frames, want 2", h.n)
	}
}

func TestAdapterStopsOnAction(t *testing.T) {
	for _, act := range []reactor.Action{reactor.Close, reactor.Shutdown} {
		t.Run(act.String(), func(t *testing.T) {
			h := &lifecycle{onFrame: func(c conn.Conn, frame []byte) reactor.Action {
				if string(frame) == "stop" {
					return act
				}
				return reactor.None
			}}
			a := New(h, NewLine(0))
			fc := newFakeConn(true)
			fc.feed([]byte("a\nstop\nb\nc\n"))
			if got := a.OnTraffic(fc); got != act {
				t.Fatalf("OnTraffic = %v, want %v", got, act)
			}
			if got := string(fc.buffered()); got != "b\nc\n" {
				t.Errorf("left %q buffered, want the frames after stop", got)
			}
			a.OnClose(fc, nil)
			if h.closeErr != nil {
				t.Errorf("a handler's own Close reported error %v", h.closeErr)
			}
		})
	}
}

func TestAdapterDecodeErrorReachesOnClose(t *testing.T) {
	h := &lifecycle{}
	a := New(h, NewLine(4))
	fc := newFakeConn(true)
	fc.feed([]byte("ok\ntoo long\n"))
	if got := a.OnTraffic(fc); got != reactor.Close {
		t.Fatalf("OnTraffic = %v, want Close", got)
	}
	// Bytes arriving before the engine gets round to closing are dropped.
	fc.feed([]byte("more\n"))
	if got := a.OnTraffic(fc); got != reactor.Close || fc.InboundBuffered() != 0 {
		t.Fatalf("OnTraffic after a decode error = %v with %d bytes buffered", got, fc.InboundBuffered())
	}
	a.OnClose(fc, nil)
	if !errors.Is(h.closeErr, ErrFrameTooLarge) {
		t.Fatalf("OnClose err %v, want ErrFrameTooLarge", h.closeErr)
	}
	if got := fmt.Sprint(h.calls); got != "[frame ok close]" {
		t.Errorf("calls %s", got)
	}
	if a.nfailed.Load() != 0 {
		t.Errorf("the failed conn is still recorded after OnClose")
	}
}

func TestAdapterDecodeErrorAndEngineError(t *testing.T) {
	h := &lifecycle{}
	lf := mustLengthField(t, LengthFieldConfig{Size: 1, Adjustment: -2})
	a := New(h, lf)
	fc := newFakeConn(true)
	fc.feed([]byte{0})
	if got := a.OnTraffic(fc); got != reactor.Close {
		t.Fatalf("OnTraffic = %v, want Close", got)
	}
	flushErr := errors.New("broken pipe")
	a.OnClose(fc, flushErr)
	if !errors.Is(h.closeErr, ErrMalformed) || !errors.Is(h.closeErr, flushErr) {
		t.Fatalf("OnClose err %v, want both ErrMalformed and the engine's error", h.closeErr)
	}
}

func TestAdapterConcurrentLoops(t *testing.T) {
	// One Adapter serves every loop; under -race this checks the failed-conn
	// bookkeeping. Half the conns fail, half close cleanly.
	var mu sync.Mutex
	errs := map[conn.Conn]error{}
	h := &closeRecorder{mu: &mu, errs: errs}
	a := New(h, NewLine(8))
	var wg sync.WaitGroup
	for loop := 0; loop < 8; loop++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				fc := newFakeConn(true)
				bad := i%2 == 0
				if bad {
					fc.feed([]byte("far too long a line\n"))
				} else {
					fc.feed([]byte("fine\n"))
				}
				act := a.OnTraffic(fc)
				if (act == reactor.Close) != bad {
					t.Errorf("OnTraffic = %v for bad=%v", act, bad)
				}
				a.OnClose(fc, nil)
				mu.Lock()
				err := errs[fc]
				delete(errs, fc)
				mu.Unlock()
				if bad != errors.Is(err, ErrFrameTooLarge) {
					t.Errorf("OnClose err %v for bad=%v", err, bad)
				}
			}
		}()
	}
	wg.Wait()
	if n := a.nfailed.Load(); n != 0 {
		t.Errorf("%d failed conns still recorded", n)
	}
}

type closeRecorder struct {
	reactor.BaseHandler
	mu   *sync.Mutex
	errs map[conn.Conn]error
}

func (h *closeRecorder) OnFrame(conn.Conn, []byte) reactor.Action { return reactor.None }

func (h *closeRecorder) OnClose(c conn.Conn, err error) {
	h.mu.Lock()
	h.errs[c] = err
	h.mu.Unlock()
}
