// Command idleconns opens -n keep-alive conns to an HTTP server, makes one
// GET on each, prints "ready" and holds them idle until stdin closes (or
// -hold passes): bench/http.sh reads the server's RSS meanwhile.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "host:port")
	n := flag.Int("n", 10000, "conns")
	hold := flag.Duration("hold", time.Minute, "how long to hold them at most")
	flag.Parse()
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)

	conns := make([]net.Conn, *n)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < *n; i = int(next.Add(1) - 1) {
				c, err := net.DialTimeout("tcp", *addr, 10*time.Second)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				conns[i] = c
				c.SetDeadline(time.Now().Add(30 * time.Second))
				c.Write([]byte("GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n"))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				c.SetDeadline(time.Time{})
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(*hold):
	}
	for _, c := range conns {
		c.Close()
	}
}
