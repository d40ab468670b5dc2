package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/evloop/evloop/codec/framed"
	"github.com/evloop/evloop/conn"
	"github.com/evloop/evloop/reactor"
)

// The line protocol. Every line the server sends starts with "* " (a
// notice), "! " (an error in answer to the reader's last line) or "<nick> "
// (what a member said).
const (
	greeting   = "* welcome to evloop chat\n"
	prompt     = "* choose a nick:\n"
	commands   = "/who, /nick NEW, /me ACTION, /quit, /help"
	helpLine   = "* commands: " + commands + "; start a line with // to say something that starts with /\n"
	bye        = "* bye\n"
	unknownFmt = "! unknown command %s; commands: " + commands + "\n"
)

var errShuttingDown = errors.New("the server is shutting down")

// OnOpen greets a new conn and asks for its nick.
func (r *room) OnOpen(c conn.Conn) reactor.Action {
	c.SetContext(&member{c: c})
	c.Write([]byte(greeting + prompt))
	return reactor.None
}

// OnFrame handles one line from a member: a nick while it has none, then
// commands and chat.
func (r *room) OnFrame(c conn.Conn, line []byte) reactor.Action {
	return r.onLine(c.Context().(*member), line)
}

// onLine handles one line from a member, nc or browser.
func (r *room) onLine(m *member, line []byte) reactor.Action {
	if m.closing {
		return reactor.Close
	}
	if m.nick == "" {
		return r.chooseNick(m, line)
	}
	switch {
	case len(line) == 0:
		return reactor.None
	case strings.HasPrefix(string(line), "//"):
		line = line[1:] // "//x" says "/x"
	case line[0] == '/':
		return r.command(m, string(line))
	}
	r.say(m, line)
	return reactor.None
}

// OnClose takes the member out of the room, if it is still there.
func (r *room) OnClose(c conn.Conn, err error) {
	m, _ := c.Context().(*member)
	if m == nil {
		return
	}
	if err != nil {
		r.log.Debug("chat: conn closed", "nick", m.nick, "remote", c.RemoteAddr(), "err", err)
	}
	r.leave(m, "")
}

// lineTooLong answers a line over MaxLine, which the codec has already
// failed: the conn closes, and OnClose receives codec.ErrFrameTooLarge.
func (r *room) lineTooLong(m *member) reactor.Action {
	if m.closing {
		return reactor.Close
	}
	r.leave(m, " (line too long)")
	m.c.Write(fmt.Appendf(nil, "! line too long (limit %d bytes); bye\n", r.cfg.MaxLine))
	return r.closeConn(m)
}

// chooseNick handles a line from a member without a nick.
func (r *room) chooseNick(m *member, line []byte) reactor.Action {
	nick := string(line)
	if strings.HasPrefix(nick, "/") {
		if strings.ToLower(nick) == "/quit" {
			return r.quit(m)
		}
		return r.reply(m, "! choose a nick first; then try "+commands+"\n"+prompt)
	}
	err := checkNick(nick)
	if err == nil {
		err = r.join(m, nick)
	}
	if err != nil {
		return r.reply(m, "! "+err.Error()+"\n"+prompt)
	}
	here := r.count()
	r.broadcast(m, []byte("* "+nick+" joined\n"))
	return r.reply(m, fmt.Sprintf("* hello %s; %d here (/who lists them)\n%s", nick, here, helpLine))
}

// command handles a line starting with '/'.
func (r *room) command(m *member, line string) reactor.Action {
	name, arg, _ := strings.Cut(line, " ")
	switch strings.ToLower(name) {
	case "/who":
		names := r.nicks()
		return r.reply(m, fmt.Sprintf("* here (%d): %s\n", len(names), strings.Join(names, " ")))
	case "/nick":
		return r.changeNick(m, arg)
	case "/me":
		if arg == "" {
			return r.reply(m, "! usage: /me ACTION\n")
		}
		r.broadcast(m, append(appendSanitized([]byte("* "+m.nick+" "), arg), '\n'))
		return reactor.None
	case "/quit":
		return r.quit(m)
	case "/help":
		return r.reply(m, helpLine)
	}
	return r.reply(m, fmt.Sprintf(unknownFmt, appendSanitized(nil, name)))
}

// changeNick handles /nick.
func (r *room) changeNick(m *member, nick string) reactor.Action {
	if nick == "" {
		return r.reply(m, "! usage: /nick NEW\n")
	}
	old := m.nick
	if nick == old {
		return r.reply(m, "* you are already "+nick+"\n")
	}
	err := checkNick(nick)
	if err == nil {
		err = r.rename(m, nick)
	}
	if err != nil {
		return r.reply(m, "! "+err.Error()+"\n")
	}
	notice := "* " + old + " is now known as " + nick + "\n"
	r.broadcast(m, []byte(notice))
	return r.reply(m, notice)
}

// quit says goodbye and closes m's conn once that is flushed.
func (r *room) quit(m *member) reactor.Action {
	r.leave(m, "")
	if a := r.reply(m, bye); a != reactor.None {
		return a
	}
	return r.closeConn(m)
}

// say sends a member's line to everyone else as "<nick> line".
func (r *room) say(m *member, text []byte) {
	msg := make([]byte, 0, len(m.nick)+4+len(text))
	msg = append(msg, '<')
	msg = append(msg, m.nick...)
	msg = append(msg, "> "...)
	r.broadcast(m, append(appendSanitized(msg, text), '\n'))
}

// appendSanitized appends text to dst, with control
// characters other than tab replaced by '?' so that no client can move
// another's cursor or ring its bell.
func appendSanitized[T string | []byte](dst []byte, text T) []byte {
	for i := 0; i < len(text); i++ {
		b := text[i]
		if (b < ' ' && b != '\t') || b == 0x7f {
			b = '?'
		}
		dst = append(dst, b)
	}
	return dst
}

// checkNick tells why nick cannot be a nick, or returns nil.
func checkNick(nick string) error {
	switch {
	case nick == "":
		return errors.New("a nick cannot be empty")
	case len(nick) > MaxNick:
		return fmt.Errorf("a nick is at most %d bytes; that one is %d", MaxNick, len(nick))
	case !utf8.ValidString(nick):
		return errors.New("a nick must be valid UTF-8")
	case nick[0] == '/':
		return errors.New("a nick cannot start with '/'")
	}
	for _, c := range nick {
		if c == ' ' || !unicode.IsPrint(c) {
			return fmt.Errorf("a nick cannot contain spaces or control characters (found %s)", strconv.QuoteRune(c))
		}
	}
	return nil
}

// nickKey folds case, so that "Bob" and "bob" are the same nick.
func nickKey(nick string) string { return strings.ToLower(nick) }

var _ framed.Handler = (*room)(nil)
