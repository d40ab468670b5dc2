//go:build linux || darwin

package rlimit

import (
	"syscall"
	"testing"
)

// TestRaiseNoFile lowers the soft limit (Go's runtime already raised it to the
// hard one at start), asks for the hard limit back (more would need
// privileges) and checks the soft limit got there; the old limit is restored
// afterwards.
func TestRaiseNoFile(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	if old.Max < 512 {
		t.Skipf("hard limit %d is too low to lower and raise", old.Max)
	}
	low := syscall.Rlimit{Cur: 256, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	want := old.Max
	got, err := RaiseNoFile(want)
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
		t.Fatal(err)
	}
	if got < want || now.Cur < want {
		t.Fatalf("RaiseNoFile(%d) = %d, soft limit now %d", want, got, now.Cur)
	}
	if got, err := RaiseNoFile(1); err != nil || got != now.Cur {
		t.Fatalf("RaiseNoFile(1) = %d, %v; want the current %d, nil", got, err, now.Cur)
	}
}
