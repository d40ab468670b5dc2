package http1_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
)

// get fetches url and prints the body.
func get(url string) {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(b))
}

func stop(e reactor.Engine) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.Stop(ctx)
	<-e.Done()
}

// A loop-native handler: it answers from memory on the conn's loop.
func ExampleNewServer() {
	h := http1.HandlerFunc(func(w *http1.ResponseWriter, r *http1.Request) {
		w.AddHeader("Content-Type", "text/plain")
		fmt.Fprintf(w, "Hello, %s", r.Target)
	})
	e, err := reactor.Start(http1.NewServer(h, http1.Config{}), []string{"tcp://127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop(e)
	get("http://" + e.Addrs()[0].String() + "/world")
	// Output: 200 OK Hello, /world
}

// A net/http ServeMux, unchanged, on a bounded set of goroutines.
func ExampleNetHTTP() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s", r.PathValue("name"))
	})
	s := http1.NewServer(http1.NetHTTP(mux, http1.NetHTTPConfig{}), http1.Config{})
	e, err := reactor.Start(s, []string{"tcp://127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stop(e)
	get("http://" + e.Addrs()[0].String() + "/hello/gopher")
	// Output: 200 OK hello, gopher
}
