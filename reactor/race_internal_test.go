//go:build race

package reactor

// raceOn: the race detector allocates on its own (sync.Pool drops items at
// random under it), so allocation counts are not checked.
const raceOn = true
