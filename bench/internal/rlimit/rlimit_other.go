//go:build !(linux || darwin)

package rlimit

// RaiseNoFile is a no-op here: the load generator raises RLIMIT_NOFILE on
// Linux and darwin only (the BSDs type its fields differently).
func RaiseNoFile(want uint64) (uint64, error) { return want, nil }
