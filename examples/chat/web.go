package main

import (
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/evloop/evloop/http1"
	"github.com/evloop/evloop/reactor"
	"github.com/evloop/evloop/websocket"
)

// The room in a browser: the -http address serves a page at / and a
// WebSocket endpoint at /ws through http1.Server, which hands /ws's conns
// to websocket.Server at the upgrade. A browser member is a member like an
// nc one: the same nicks, commands and notices. Each line the room would
// write to an nc client is one text message to a browser (without its
// "\n"); each text message a browser sends is a line (or several, split
// at "\n").
//
// Lines reach a browser member through its websocket.Conn's own queue
// (AsyncWritePrepared, from any loop), bounded by MaxBacklog: a browser
// that does not read is cut off by the websocket package, and the room
// hears of it in OnClose. A broadcast line is framed once for all the
// browsers (a PreparedMessage).

//go:embed web/index.html
var indexHTML []byte

// DefaultPingInterval is how often the server pings browsers: a tab
// that went away without a close is noticed within two intervals.
const DefaultPingInterval = 30 * time.Second

// web serves the page and the WebSocket endpoint for a room.
type web struct {
	room  *room
	ws    *websocket.Server
	http  *http1.Server
	guest atomic.Uint64 // the last guest number given out
}

// newWeb returns the HTTP side of r.
func newWeb(r *room) *web {
	w := &web{room: r}
	w.ws = websocket.NewServer(w, websocket.Options{
		Policy: websocket.Policy{
			CheckOrigin: sameOrigin,
			Compression: &websocket.Compression{},
		},
		MaxMessage:   r.cfg.MaxLine,
		MaxBacklog:   r.cfg.MaxBacklog,
		CloseTimeout: r.cfg.CloseGrace,
		PingInterval: DefaultPingInterval,
	})
	w.http = http1.NewServer(http1.HandlerFunc(w.serveHTTP), http1.Config{})
	return w
}

// serveHTTP routes / to the page and /ws to WebSocket.
func (w *web) serveHTTP(rw *http1.ResponseWriter, req *http1.Request) {
	path, _, _ := strings.Cut(string(req.Target), "?")
	switch path {
	case "/ws":
		w.ws.ServeHTTP1(rw, req)
	case "/", "/index.html":
		rw.AddHeader("Content-Type", "text/html; charset=utf-8")
		rw.AddHeader("Cache-Control", "no-cache")
		rw.Write(indexHTML)
	default:
		rw.SetStatus(404)
		rw.AddHeader("Content-Type", "text/plain; charset=utf-8")
		rw.WriteString("not found; the chat is at /\n")
	}
}

// sameOrigin accepts a browser's request only from a page of this server
// (Origin's host is the request's Host), so that no other site's page
// can join the room in its visitor's name; a client without Origin (not
// a browser) is accepted.
func sameOrigin(origin string, h websocket.Headers) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	host := h.Values("Host")
	return err == nil && len(host) == 1 && strings.EqualFold(u.Host, host[0])
}

// OnOpen implements websocket.Handler: the browser joins at once under a
// generated nick (guest-N), which it may change with /nick.
func (w *web) OnOpen(c *websocket.Conn) {
	m := &member{ws: c}
	c.SetContext(m)
	for {
		nick := fmt.Sprintf("guest-%d", w.guest.Add(1))
		err := w.room.join(m, nick)
		if err == nil {
			break
		}
		if errors.Is(err, errShuttingDown) {
			w.room.reply(m, "* "+err.Error()+"\n")
			c.AsyncClose(websocket.CloseGoingAway, "shutting down")
			return
		}
	}
	here := w.room.count()
	w.room.broadcast(m, []byte("* "+m.nick+" joined\n"))
	w.room.reply(m, fmt.Sprintf("%s* hello %s; %d here (/who lists them, /nick NEW renames you)\n%s", greeting, m.nick, here, helpLine))
}

// OnMessage implements websocket.Handler: each line of a text message is
// a line of the room's protocol.
func (w *web) OnMessage(c *websocket.Conn, op websocket.Opcode, data []byte) {
	m, _ := c.Context().(*member)
	if m == nil || op != websocket.OpText {
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if m.closing || m.left {
			return
		}
		w.room.onLine(m, []byte(strings.TrimSuffix(line, "\r")))
	}
}

// OnClose implements websocket.Handler: the member leaves, with the
// reason when the server cut it off.
func (w *web) OnClose(c *websocket.Conn, err error) {
	m, _ := c.Context().(*member)
	if m == nil {
		return
	}
	reason := ""
	switch {
	case errors.Is(err, websocket.ErrSlowReceiver):
		reason = " (too slow)"
	case errors.Is(err, websocket.ErrMessageTooBig):
		reason = " (line too long)"
	}
	if err != nil {
		w.room.log.Debug("chat: browser closed", "nick", m.nick, "remote", c.RemoteAddr(), "err", err)
	}
	w.room.leave(m, reason)
}

// OnStop implements websocket.StopHandler: the browser hears that the
// server is going away before its Close frame (1001).
func (w *web) OnStop(c *websocket.Conn) {
	m, _ := c.Context().(*member)
	w.room.mu.Lock()
	w.room.closed = true
	w.room.mu.Unlock()
	if m != nil && !m.closing {
		c.WriteMessage(websocket.OpText, []byte("* server shutting down"))
	}
}

// sendWS queues text for a browser member, without its last "\n".
func (m *member) sendWS(line []byte) {
	m.ws.AsyncWriteMessage(websocket.OpText, []byte(strings.TrimSuffix(string(line), "\n")))
}

// engineHandler is the engine's root: the nc side's handler, and the
// HTTP server's OnBoot and OnShutdown (its Date clock).
type engineHandler struct {
	*handler
	web *web
}

// OnBoot implements reactor.Handler.
func (e engineHandler) OnBoot(eng reactor.Engine) reactor.Action {
	if e.web != nil {
		e.web.http.OnBoot(eng)
	}
	return e.handler.OnBoot(eng)
}

// OnShutdown implements reactor.Handler.
func (e engineHandler) OnShutdown(eng reactor.Engine) {
	if e.web != nil {
		e.web.http.OnShutdown(eng)
	}
	e.handler.OnShutdown(eng)
}

// start starts the engine: nc on addrs[0], and the page and /ws on
// addrs[1] when there is one.
func start(r *room, addrs []string, opts ...reactor.Option) (reactor.Engine, *web, error) {
	h := newHandler(r)
	specs, err := reactor.ListenSpecs(h, addrs[:1])
	if err != nil {
		return nil, nil, err
	}
	var w *web
	if len(addrs) > 1 {
		w = newWeb(r)
		more, err := reactor.ListenSpecs(w.http, addrs[1:])
		if err != nil {
			return nil, nil, err
		}
		specs = append(specs, more...)
	}
	e, err := reactor.StartSpecs(engineHandler{handler: h, web: w}, specs, opts...)
	return e, w, err
}

var (
	_ websocket.Handler     = (*web)(nil)
	_ websocket.StopHandler = (*web)(nil)
)
