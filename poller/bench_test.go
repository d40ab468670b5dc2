package poller

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkWait measures one non-blocking Wait that reports n ready fds, the
// loop's steady state. It must not allocate.
func BenchmarkWait(b *testing.B) {
	for _, k := range kinds(b) {
		for _, n := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("%v/ready=%d", k, n), func(b *testing.B) {
				p, err := New(k)
				require.NoError(b, err)
				b.Cleanup(func() { p.Close() })
				fds := newFDSet(b)
				for range n {
					r, w := fds.socketpair()
					write(b, w, "x")
					require.NoError(b, p.Add(r, Readable))
				}
				reported := 0
				count := func(int, Event) { reported++ }
				// Warm up: epoll and kqueue size their event batch on the
				// first full Waits.
				for range 8 {
					_, err := p.Wait(0, count)
					require.NoError(b, err)
				}
				reported = 0
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if _, err := p.Wait(0, count); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				require.Equal(b, b.N*n, reported)
			})
		}
	}
}

// BenchmarkWake measures Wake from another goroutine while one is pending,
// the common case under load: it should cost one atomic operation.
func BenchmarkWake(b *testing.B) {
	for _, k := range kinds(b) {
		b.Run(k.String(), func(b *testing.B) {
			p, err := New(k)
			require.NoError(b, err)
			b.Cleanup(func() { p.Close() })
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := p.Wake(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkWakeWait measures a full wakeup cycle: Wake, then the Wait that
// consumes it.
func BenchmarkWakeWait(b *testing.B) {
	for _, k := range kinds(b) {
		b.Run(k.String(), func(b *testing.B) {
			p, err := New(k)
			require.NoError(b, err)
			b.Cleanup(func() { p.Close() })
			none := func(int, Event) {}
			b.ReportAllocs()
			for range b.N {
				if err := p.Wake(); err != nil {
					b.Fatal(err)
				}
				if _, err := p.Wait(0, none); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
