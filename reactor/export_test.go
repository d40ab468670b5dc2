package reactor

// Hooks for the external tests.

// SetSignalHook lets the external tests follow the signal watcher's steps;
// it returns a function restoring the previous hook. Set it before Start
// and restore it after the engine is done.
func SetSignalHook(fn func(step string)) (restore func()) {
	old := signalHook
	signalHook = fn
	return func() { signalHook = old }
}

// SetMaxFIFOHandshakes lowers the bound on FIFO handshakes in progress for a
// test; it returns a function restoring the previous bound.
func SetMaxFIFOHandshakes(n int) (restore func()) {
	old := maxFIFOHandshakes
	maxFIFOHandshakes = n
	return func() { maxFIFOHandshakes = old }
}

// nativeOf is the native engine under the front that Start returns.
func nativeOf(e Engine) *engine { return e.(*front).Engine.(*engine) }
