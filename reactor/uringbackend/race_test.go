//go:build race

package uringbackend_test

// raceOn: the race detector allocates on its own, so allocation counts are
// not asserted under it.
const raceOn = true
