package reactor

// SetSignalHook lets the external tests follow the signal watcher's steps;
// it returns a function restoring the previous hook. Set it before Start
// and restore it after the engine is done.
func SetSignalHook(fn func(step string)) (restore func()) {
	old := signalHook
	signalHook = fn
	return func() { signalHook = old }
}
