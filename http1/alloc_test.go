package http1

import "testing"

// TestFastPathAllocs: parsing a typical request head and building its
// response allocate nothing once the buffers have grown (Date comes from
// the refresher, not formatted per response).
func TestFastPathAllocs(t *testing.T) {
	startDate()
	defer stopDate()
	in := []byte("GET /plaintext HTTP/1.1\r\nHost: server\r\nUser-Agent: bench\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n")
	lim := Limits{}.withDefaults()
	var r Request
	var rd reader
	var resp response
	out := make([]byte, 0, 1024)
	server := []byte("Server: evloop\r\n")
	allocs := testing.AllocsPerRun(1000, func() {
		ev, n, _, err := rd.next(in, &r, &lim, lim.MaxBodyBytes)
		if err != nil || ev != evHead || n != len(in) {
			t.Fatalf("ev %d n %d err %v", ev, n, err)
		}
		resp.reset(&r, false)
		resp.addField("Content-Type", "text/plain")
		resp.body = append(resp.body, "Hello, World!"...)
		out = resp.appendEnd(out[:0], server)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}

func BenchmarkParseAndRespond(b *testing.B) {
	startDate()
	defer stopDate()
	in := []byte("GET /plaintext HTTP/1.1\r\nHost: server\r\nUser-Agent: bench\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n")
	lim := Limits{}.withDefaults()
	var r Request
	var rd reader
	var resp response
	out := make([]byte, 0, 1024)
	server := []byte("Server: evloop\r\n")
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		rd.next(in, &r, &lim, lim.MaxBodyBytes)
		resp.reset(&r, false)
		resp.addField("Content-Type", "text/plain")
		resp.body = append(resp.body, "Hello, World!"...)
		out = resp.appendEnd(out[:0], server)
	}
}
