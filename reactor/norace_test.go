//go:build !race

package reactor_test

// raceEnabled: see race_test.go.
const raceEnabled = false
