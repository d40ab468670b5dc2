//go:build !race

package reactor

// raceOn: see race_internal_test.go.
const raceOn = false
