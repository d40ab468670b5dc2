//go:build linux

package websocket

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evloop/evloop/reactor"
)

// Interop with other implementations, from Debian's packages (.ci/run
// installs them; in CI these tests are never skipped): Python's websockets
// (python3-websockets) and Node's ws (node-ws), each as a client of our
// server and as a server for our client, with permessage-deflate.

// peer is an interpreter with a WebSocket library.
type peer struct {
	name  string
	bin   string
	env   []string
	check string // a program that exits 0 when the library is there
}

var (
	pythonPeer = peer{name: "python3-websockets", bin: "/usr/bin/python3", check: "import websockets"}
	nodePeer   = peer{name: "node-ws", bin: "node", env: []string{"NODE_PATH=/usr/share/nodejs"}, check: "require('ws')"}
)

func (p peer) flag() string {
	if p.bin == "node" {
		return "-e"
	}
	return "-c"
}

// need returns the peer's interpreter, or skips (outside CI only).
func (p peer) need(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.bin, p.flag(), p.check)
	cmd.Env = append(os.Environ(), p.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing (apt-get install %s): %v %s", p.name, p.name, err, out)
		}
		t.Skipf("%s is not installed (apt-get install %s)", p.name, p.name)
	}
}

// start runs program with args; its process group is killed at the end.
func (p peer) start(t *testing.T, program string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(p.bin, append([]string{p.flag(), program}, args...)...)
	if p.bin == "node" {
		cmd.Args = append([]string{p.bin, p.flag(), program, "--"}, args...)
	}
	cmd.Env = append(os.Environ(), p.env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out), &stderr
}

// readLine reads a line of the peer's stdout, bounded.
func readLine(t *testing.T, br *bufio.Reader, stderr *bytes.Buffer) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := br.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s == "" {
			t.Fatalf("the peer ended; stderr:\n%s", stderr)
		}
		return strings.TrimSpace(s)
	case <-time.After(bound):
		t.Fatalf("no line from the peer; stderr:\n%s", stderr)
		return ""
	}
}

const pythonClient = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1], compression="deflate", max_size=1 << 22) as ws:
        for msg in ["hello", "\u00e9" * 3000, bytes(range(256)) * 40, ""]:
            await ws.send(msg)
            got = await ws.recv()
            assert got == msg, (len(got), len(msg))
        await ws.send(["frag", "ment"])
        assert await ws.recv() == "fragment"
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, 10)
        await ws.close(1000, "done")
        print("ok", ws.response_headers.get("Sec-WebSocket-Extensions", ""), flush=True)
asyncio.run(main())
`

const nodeClient = `
const WebSocket = require('ws');
const ws = new WebSocket(process.argv[process.argv.length - 1], {perMessageDeflate: {threshold: 0}});
const msgs = [['hello', false], ['\u00e9'.repeat(3000), false], [Buffer.alloc(10240, 7), true], ['', false]];
let i = 0;
ws.on('open', () => ws.send(msgs[0][0]));
ws.on('message', (data, isBinary) => {
  const [want, bin] = msgs[i];
  if (isBinary !== bin || Buffer.compare(Buffer.from(data), Buffer.from(want)) !== 0) {
    console.log('mismatch', i); process.exit(1);
  }
  if (++i < msgs.length) ws.send(msgs[i][0]); else ws.close(1000, 'done');
});
ws.on('close', (code) => { console.log('ok', code, ws.extensions); process.exit(code === 1000 ? 0 : 1); });
ws.on('error', (e) => { console.log('error', e.message); process.exit(1); });
`

// TestInteropPeerClients: Python's and Node's clients against our server
// (through http1's upgrade), with permessage-deflate, over both backends.
func TestInteropPeerClients(t *testing.T) {
	for _, c := range []struct {
		peer    peer
		program string
	}{{pythonPeer, pythonClient}, {nodePeer, nodeClient}} {
		t.Run(c.peer.name, func(t *testing.T) {
			c.peer.need(t)
			forTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
				rec := newRecorder()
				s := startHTTP1Server(t, scheme, rec, Options{Policy: Policy{Compression: &Compression{}}}, opts...)
				p := c.peer
				if scheme == "tls" {
					// The peers trust the test's CA through their usual
					// variables.
					ca := caFile(t)
					p.env = append(append([]string(nil), p.env...), "SSL_CERT_FILE="+ca, "NODE_EXTRA_CA_CERTS="+ca)
				}
				cmd, out, stderr := p.start(t, c.program, wsURL(s, "/ws"))
				line := readLine(t, out, stderr)
				if !strings.HasPrefix(line, "ok") || !strings.Contains(line, "permessage-deflate") && !strings.Contains(line, "'permessage-deflate'") {
					t.Fatalf("peer said %q; stderr:\n%s", line, stderr)
				}
				if err := cmd.Wait(); err != nil {
					t.Fatalf("peer exited with %v; stderr:\n%s", err, stderr)
				}
				if err := rec.waitClosed(t); err != nil {
					t.Fatalf("OnClose(%v)", err)
				}
			})
		})
	}
}

const pythonServer = `
import asyncio, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, compression="deflate", max_size=1 << 22) as srv:
        print(srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`

const nodeServer = `
const WebSocket = require('ws');
const wss = new WebSocket.Server({host: '127.0.0.1', port: 0, perMessageDeflate: {threshold: 0}});
wss.on('listening', () => console.log(wss.address().port));
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, {binary: isBinary})));
`

// TestInteropPeerServers: our client against Python's and Node's servers,
// with permessage-deflate (context takeover both ways), over both
// backends.
func TestInteropPeerServers(t *testing.T) {
	for _, c := range []struct {
		peer    peer
		program string
	}{{pythonPeer, pythonServer}, {nodePeer, nodeServer}} {
		t.Run(c.peer.name, func(t *testing.T) {
			c.peer.need(t)
			_, out, stderr := c.peer.start(t, c.program)
			port := readLine(t, out, stderr)
			// The peers serve plain ws here; wss is our client against our
			// server (TestClientDial).
			forPlainTransports(t, func(t *testing.T, scheme string, opts []reactor.Option) {
				e := startServer(t, scheme, newRecorder(), Options{}, opts...).e
				cl := newClientRecorder()
				msgs := []string{"hello", strings.Repeat("é", 3000), strings.Repeat("compressible ", 500), strings.Repeat("compressible ", 500), ""}
				cl.onOpen = func(c *Conn) {
					for _, m := range msgs {
						c.WriteMessage(OpText, []byte(m))
					}
					c.WriteMessage(OpBinary, []byte{0, 1, 2, 255})
				}
				err := Dial(e, "ws://127.0.0.1:"+port+"/", cl, DialOptions{Options: Options{Policy: Policy{Compression: &Compression{ServerContextTakeover: true}}}})
				if err != nil {
					t.Fatal(err)
				}
				var conn *Conn
				select {
				case conn = <-cl.opened:
				case err := <-cl.closed:
					t.Fatalf("dial: %v; peer stderr:\n%s", err, stderr)
				case <-time.After(bound):
					t.Fatal("no OnOpen")
				}
				if conn.Deflate() == nil {
					t.Fatal("no permessage-deflate with the peer")
				}
				for _, want := range msgs {
					if got := cl.msg(t); got != "text:"+want {
						t.Fatalf("echo %s, want %s", trunc([]byte(got)), trunc([]byte(want)))
					}
				}
				if got := cl.msg(t); got != "binary:\x00\x01\x02\xff" {
					t.Fatalf("binary echo %q", got)
				}
				conn.AsyncClose(CloseNormal, "done")
				if err := cl.waitClosed(t); err != nil {
					t.Fatalf("OnClose(%v)", err)
				}
			})
		})
	}
}

// caFile writes the test certificate (its own CA) as PEM.
func caFile(t *testing.T) string {
	cert, _ := testCert(t)
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func forPlainTransports(t *testing.T, f func(t *testing.T, scheme string, opts []reactor.Option)) {
	for _, tr := range transports {
		if tr.scheme == "tcp" {
			t.Run(tr.name, func(t *testing.T) { f(t, tr.scheme, tr.backend()) })
		}
	}
}
