//go:build !race

package uringbackend_test

// raceOn: see race_test.go.
const raceOn = false
