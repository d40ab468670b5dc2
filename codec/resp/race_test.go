//go:build race

package resp

// raceEnabled: the race detector's instrumentation can allocate, so
// allocation counts are checked only without it (as in package codec).
const raceEnabled = true
