//go:build race

package reactor_test

// raceEnabled: the race detector slows copies and crypto tenfold; the TLS
// tests scale their volumes down under it.
const raceEnabled = true
