package poller_test

import (
	"fmt"
	"time"

	"github.com/evloop/evloop/poller"
	"golang.org/x/sys/unix"
)

// A poller reports which watched fds are ready; here the read end of a pipe
// after a write to it.
func ExampleNew() {
	p, err := poller.New(poller.Auto)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		fmt.Println(err)
		return
	}
	rfd, wfd := fds[0], fds[1]
	unix.SetNonblock(rfd, true) // a poller watches nonblocking fds
	defer unix.Close(rfd)
	defer unix.Close(wfd)

	if err := p.Add(rfd, poller.Readable); err != nil {
		fmt.Println(err)
		return
	}
	defer p.Remove(rfd) // before the fd is closed
	unix.Write(wfd, []byte("x"))

	p.Wait(time.Second, func(fd int, ev poller.Event) {
		fmt.Println(fd == rfd, ev&poller.Readable != 0)
	})
	// Output: true true
}
