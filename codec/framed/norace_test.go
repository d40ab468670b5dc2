//go:build !race

package framed

// raceEnabled: see race_test.go.
const raceEnabled = false
