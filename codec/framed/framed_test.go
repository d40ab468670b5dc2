package framed

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evloop/evloop/codec"
	"github.com/evloop/evloop/codec/internal/fakeconn"
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
	a := New(h, codec.NewLine(0))
	fc := fakeconn.New(true)
	if a.OnBoot(nil) != reactor.Shutdown {
		t.Error("OnBoot's action was not passed back")
	}
	if a.OnOpen(fc) != reactor.Close {
		t.Error("OnOpen's action was not passed back")
	}
	fc.Feed([]byte("x\n"))
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
	a := New(h, codec.NewLine(0))
	fc := fakeconn.New(true)
	if a.OnBoot(nil) != reactor.None || a.OnOpen(fc) != reactor.None {
		t.Error("default OnBoot/OnOpen not None")
	}
	if d, act := a.OnTick(); d != time.Second || act != reactor.None {
		t.Errorf("default OnTick = %v, %v", d, act)
	}
	fc.Feed([]byte("a\nb\n"))
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
			a := New(h, codec.NewLine(0))
			fc := fakeconn.New(true)
			fc.Feed([]byte("a\nstop\nb\nc\n"))
			if got := a.OnTraffic(fc); got != act {
				t.Fatalf("OnTraffic = %v, want %v", got, act)
			}
			if got := string(fc.Buffered()); got != "b\nc\n" {
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
	a := New(h, codec.NewLine(4))
	fc := fakeconn.New(true)
	fc.Feed([]byte("ok\ntoo long\n"))
	if got := a.OnTraffic(fc); got != reactor.Close {
		t.Fatalf("OnTraffic = %v, want Close", got)
	}
	// Bytes arriving before the engine gets round to closing are dropped.
	fc.Feed([]byte("more\n"))
	if got := a.OnTraffic(fc); got != reactor.Close || fc.InboundBuffered() != 0 {
		t.Fatalf("OnTraffic after a decode error = %v with %d bytes buffered", got, fc.InboundBuffered())
	}
	a.OnClose(fc, nil)
	if !errors.Is(h.closeErr, codec.ErrFrameTooLarge) {
		t.Fatalf("OnClose err %v, want codec.ErrFrameTooLarge", h.closeErr)
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
	lf, err := codec.NewLengthField(codec.LengthFieldConfig{Size: 1, Adjustment: -2})
	if err != nil {
		t.Fatal(err)
	}
	a := New(h, lf)
	fc := fakeconn.New(true)
	fc.Feed([]byte{0})
	if got := a.OnTraffic(fc); got != reactor.Close {
		t.Fatalf("OnTraffic = %v, want Close", got)
	}
	flushErr := errors.New("broken pipe")
	a.OnClose(fc, flushErr)
	if !errors.Is(h.closeErr, codec.ErrMalformed) || !errors.Is(h.closeErr, flushErr) {
		t.Fatalf("OnClose err %v, want both codec.ErrMalformed and the engine's error", h.closeErr)
	}
}

func TestAdapterConcurrentLoops(t *testing.T) {
	// One Adapter serves every loop; under -race this checks the failed-conn
	// bookkeeping. Half the conns fail, half close cleanly.
	var mu sync.Mutex
	errs := map[conn.Conn]error{}
	h := &closeRecorder{mu: &mu, errs: errs}
	a := New(h, codec.NewLine(8))
	var wg sync.WaitGroup
	for loop := 0; loop < 8; loop++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				fc := fakeconn.New(true)
				bad := i%2 == 0
				if bad {
					fc.Feed([]byte("far too long a line\n"))
				} else {
					fc.Feed([]byte("fine\n"))
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
				if bad != errors.Is(err, codec.ErrFrameTooLarge) {
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

// echoHandler writes each frame back, framed by its codec.
type echoHandler struct{ c codec.Codec }

func (h echoHandler) OnFrame(c conn.Conn, frame []byte) reactor.Action {
	if err := codec.WriteFrame(c, h.c, frame); err != nil {
		return reactor.Close
	}
	return reactor.None
}

// echoWire is 16 "ping" frames encoded with c.
func echoWire(tb testing.TB, c codec.Codec) []byte {
	var wire []byte
	for i := 0; i < 16; i++ {
		var err error
		if wire, err = c.Encode(wire, []byte("ping")); err != nil {
			tb.Fatal(err)
		}
	}
	return wire
}

func TestAdapterEchoZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	lf, err := codec.NewLengthField(codec.LengthFieldConfig{Size: 2, Strip: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		c    codec.Codec
	}{{"line", codec.NewLine(0)}, {"lengthfield", lf}} {
		t.Run(tc.name, func(t *testing.T) {
			wire := echoWire(t, tc.c)
			a := New(echoHandler{tc.c}, tc.c)
			fc := fakeconn.New(false)
			run := func() {
				fc.Reset()
				fc.Feed(wire)
				if a.OnTraffic(fc) != reactor.None || fc.InboundBuffered() != 0 {
					t.Fatal("frames not all decoded")
				}
			}
			run() // grow the fake's buffers
			if n := testing.AllocsPerRun(100, run); n != 0 {
				t.Errorf("decode and echo of 16 frames: %v allocs, want 0", n)
			}
			if got := fc.Output(); string(got) != string(wire) {
				t.Errorf("echo output %q, want %q", got, wire)
			}
		})
	}
}

// BenchmarkAdapterEchoLine measures the whole path a line server takes per
// read: Adapter.OnTraffic over a conn holding 16 frames, each echoed with
// codec.WriteFrame.
func BenchmarkAdapterEchoLine(b *testing.B) {
	c := codec.NewLine(0)
	wire := echoWire(b, c)
	a := New(echoHandler{c}, c)
	fc := fakeconn.New(false)
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		fc.Reset()
		fc.Feed(wire)
		if a.OnTraffic(fc) != reactor.None || fc.InboundBuffered() != 0 {
			b.Fatal("frames not echoed")
		}
	}
}
