//go:build !race

package resp

// raceEnabled: see race_test.go.
const raceEnabled = false
