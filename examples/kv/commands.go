package main

import (
	"fmt"
	"math"
	"os"
	"path"
	"runtime"
	"strings"
	"time"

	"github.com/evloop/evloop/codec/resp"
)

// command is one entry of the command table.
type command struct {
	name string
	// arity counts the command name, as in redis-server: n > 0 exactly n
	// arguments, n < 0 at least -n.
	arity int
	run   func(s *server, out []byte, args [][]byte) []byte
	// quit closes the conn once the reply is flushed.
	quit bool
}

// commandsByLen holds the command table bucketed by name length, hottest
// first in each bucket: lookup compares a handful of bytes instead of
// hashing the name into a map, which was a tenth of the server's user time
// under redis-benchmark. Filled by init, read-only afterwards, so loops
// share it without locks.
var commandsByLen [maxCommandName + 1][]*command

func init() {
	for _, c := range []*command{
		{name: "ping", arity: -1, run: (*server).ping},
		{name: "echo", arity: 2, run: (*server).echo},
		{name: "get", arity: 2, run: (*server).get},
		{name: "set", arity: -3, run: (*server).set},
		{name: "del", arity: -2, run: (*server).del},
		{name: "exists", arity: -2, run: (*server).exists},
		{name: "incr", arity: 2, run: (*server).incr},
		{name: "decr", arity: 2, run: (*server).decr},
		{name: "incrby", arity: 3, run: (*server).incrby},
		{name: "decrby", arity: 3, run: (*server).decrby},
		{name: "mget", arity: -2, run: (*server).mget},
		{name: "mset", arity: -3, run: (*server).mset},
		{name: "lpush", arity: -3, run: (*server).lpush},
		{name: "rpush", arity: -3, run: (*server).rpush},
		{name: "lpop", arity: -2, run: (*server).lpop},
		{name: "rpop", arity: -2, run: (*server).rpop},
		{name: "llen", arity: 2, run: (*server).llen},
		{name: "ttl", arity: 2, run: (*server).ttl},
		{name: "pttl", arity: 2, run: (*server).pttl},
		{name: "dbsize", arity: 1, run: (*server).dbsize},
		{name: "flushdb", arity: -1, run: (*server).flush},
		{name: "flushall", arity: -1, run: (*server).flush},
		{name: "quit", arity: -1, run: (*server).ok, quit: true},
		{name: "command", arity: -1, run: (*server).command},
		{name: "client", arity: -2, run: (*server).client},
		{name: "hello", arity: -1, run: (*server).hello},
		{name: "auth", arity: -2, run: (*server).auth},
		{name: "select", arity: 2, run: (*server).selectDB},
		{name: "config", arity: -2, run: (*server).config},
		{name: "info", arity: -1, run: (*server).info},
	} {
		commandsByLen[len(c.name)] = append(commandsByLen[len(c.name)], c)
		numCommands++
	}
}

// numCommands is the size of the table, for COMMAND COUNT.
var numCommands int

// maxCommandName is the longest name in the table; longer names are
// unknown without a lookup.
const maxCommandName = 16

// lookup finds args[0] in the table, case-insensitively and without
// allocating.
func lookup(name []byte) *command {
	if len(name) > maxCommandName {
		return nil
	}
	var lower [maxCommandName]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	key := lower[:len(name)]
	for _, c := range commandsByLen[len(key)] {
		if string(key) == c.name {
			return c
		}
	}
	return nil
}

// Replies shared by many commands.
const (
	errNotInteger = "ERR value is not an integer or out of range"
	errSyntax     = "ERR syntax error"
	errWrongType  = "WRONGTYPE Operation against a key holding the wrong kind of value"
)

// exec runs one command and appends its reply to out. quit asks for the
// conn to be closed once the reply is out.
func (s *server) exec(out []byte, args [][]byte) (_ []byte, quit bool) {
	cmd := lookup(args[0])
	if cmd == nil {
		return resp.AppendError(out, unknownCommand(args)), false
	}
	if (cmd.arity > 0 && len(args) != cmd.arity) || (cmd.arity < 0 && len(args) < -cmd.arity) {
		return wrongArgs(out, cmd.name), false
	}
	return cmd.run(s, out, args), cmd.quit
}

// unknownCommand words the error as redis-server 7 does, without the
// trailing "with args beginning with:" when there are none.
func unknownCommand(args [][]byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ERR unknown command '%s'", clip(args[0]))
	if len(args) > 1 {
		b.WriteString(", with args beginning with: ")
		for _, a := range args[1:] {
			if b.Len() > 256 {
				break
			}
			fmt.Fprintf(&b, "'%s' ", clip(a))
		}
	}
	return b.String()
}

// clip shortens user input quoted in an error reply.
func clip(b []byte) []byte {
	if len(b) > 128 {
		return b[:128]
	}
	return b
}

func wrongArgs(out []byte, name string) []byte {
	return resp.AppendError(out, "ERR wrong number of arguments for '"+name+"' command")
}

// is reports whether arg is opt, ignoring ASCII case; opt is lower case.
func is(arg []byte, opt string) bool {
	if len(arg) != len(opt) {
		return false
	}
	for i, c := range arg {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != opt[i] {
			return false
		}
	}
	return true
}

func (s *server) ok(out []byte, _ [][]byte) []byte { return append(out, "+OK\r\n"...) }

func (s *server) ping(out []byte, args [][]byte) []byte {
	switch len(args) {
	case 1:
		return append(out, "+PONG\r\n"...)
	case 2:
		return resp.AppendBulk(out, args[1])
	}
	return wrongArgs(out, "ping")
}

func (s *server) echo(out []byte, args [][]byte) []byte { return resp.AppendBulk(out, args[1]) }

func (s *server) get(out []byte, args [][]byte) []byte {
	e, ok := s.store.get(args[1])
	switch {
	case !ok:
		return resp.AppendNull(out)
	case e.list != nil:
		return resp.AppendError(out, errWrongType)
	}
	return resp.AppendBulk(out, e.val)
}

// set is SET key value [NX | XX] [GET] [EX s | PX ms | EXAT s | PXAT ms | KEEPTTL].
func (s *server) set(out []byte, args [][]byte) []byte {
	var m setMode
	expiry := false
	for i := 3; i < len(args); i++ {
		opt := args[i]
		switch {
		case is(opt, "nx") && !m.xx:
			m.nx = true
		case is(opt, "xx") && !m.nx:
			m.xx = true
		case is(opt, "get"):
			m.get = true
		case is(opt, "keepttl") && !expiry:
			m.keepTTL = true
		case (is(opt, "ex") || is(opt, "px") || is(opt, "exat") || is(opt, "pxat")) && !expiry && !m.keepTTL && i+1 < len(args):
			i++
			v, ok := parseInt(args[i])
			if !ok {
				return resp.AppendError(out, errNotInteger)
			}
			at, ok := s.deadline(opt, v)
			if !ok {
				return resp.AppendError(out, "ERR invalid expire time in 'set' command")
			}
			m.expireAt, expiry = at, true
		default:
			return resp.AppendError(out, errSyntax)
		}
	}
	old, hadOld, stored, wrongType := s.store.set(args[1], args[2], m)
	switch {
	case wrongType:
		return resp.AppendError(out, errWrongType)
	case m.get && hadOld:
		return resp.AppendBulk(out, old)
	case m.get, !stored:
		return resp.AppendNull(out)
	}
	return append(out, "+OK\r\n"...)
}

// deadline converts SET's EX/PX/EXAT/PXAT value to the store clock. A
// deadline already past is valid for EXAT/PXAT (the key is set expired, as
// in redis-server); a non-positive or overflowing value is not.
func (s *server) deadline(opt []byte, v int64) (int64, bool) {
	if v <= 0 {
		return 0, false
	}
	// redis-server's bounds: the time in milliseconds must fit an int64
	// (for EX and PX, once added to now).
	ms := v
	if is(opt, "ex") || is(opt, "exat") {
		if v > math.MaxInt64/1000 {
			return 0, false
		}
		ms = v * 1000
	}
	// The store keeps monotonic nanoseconds, which run out in 2262: later
	// deadlines are kept as never reached.
	if is(opt, "ex") || is(opt, "px") {
		if ms > math.MaxInt64-time.Now().UnixMilli() {
			return 0, false
		}
		now := s.store.now()
		if ms > (math.MaxInt64-now)/int64(time.Millisecond) {
			return math.MaxInt64, true
		}
		return now + ms*int64(time.Millisecond), true // to the nanosecond
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, true
	}
	return clampDeadline(s.store.deadlineAt(ms)), true
}

// clampDeadline keeps a deadline positive (0 means none) and, past the
// store clock's overflow, as never reached.
func clampDeadline(at int64) int64 {
	if at <= 0 {
		return 1 // already past: expires at once
	}
	return at
}

func (s *server) del(out []byte, args [][]byte) []byte {
	return resp.AppendInt(out, s.store.del(args[1:]))
}

func (s *server) exists(out []byte, args [][]byte) []byte {
	return resp.AppendInt(out, s.store.exists(args[1:]))
}

func (s *server) incr(out []byte, args [][]byte) []byte { return s.incrBy(out, args[1], 1) }
func (s *server) decr(out []byte, args [][]byte) []byte { return s.incrBy(out, args[1], -1) }

func (s *server) incrby(out []byte, args [][]byte) []byte {
	d, ok := parseInt(args[2])
	if !ok {
		return resp.AppendError(out, errNotInteger)
	}
	return s.incrBy(out, args[1], d)
}

func (s *server) decrby(out []byte, args [][]byte) []byte {
	d, ok := parseInt(args[2])
	if !ok {
		return resp.AppendError(out, errNotInteger)
	}
	if d == math.MinInt64 {
		return resp.AppendError(out, "ERR decrement would overflow")
	}
	return s.incrBy(out, args[1], -d)
}

func (s *server) incrBy(out []byte, key []byte, delta int64) []byte {
	v, res := s.store.incrBy(key, delta)
	switch res {
	case incrNotInteger:
		return resp.AppendError(out, errNotInteger)
	case incrOverflow:
		return resp.AppendError(out, "ERR increment or decrement would overflow")
	case incrWrongType:
		return resp.AppendError(out, errWrongType)
	}
	return resp.AppendInt(out, v)
}

// mget answers with the keys' values, unless the reply would pass
// -maxreply: then with an error, having built no more of the reply than the
// limit.
func (s *server) mget(out []byte, args [][]byte) []byte {
	start := len(out)
	out = resp.AppendArrayHeader(out, len(args)-1)
	over := false
	s.store.mget(args[1:], func(v []byte, ok bool) {
		switch {
		case over:
		case !ok:
			out = resp.AppendNull(out)
			over = len(out)-start > s.maxReply
		case len(out)-start+bulkLen(len(v)) > s.maxReply:
			over = true
		default:
			out = resp.AppendBulk(out, v)
		}
	})
	if over {
		return s.replyTooLarge(out[:start])
	}
	return out
}

// replyTooLarge answers a command whose reply would pass -maxreply.
// redis-server has no such limit (its client-output-buffer-limit closes
// the conn instead); an error reply tells the client which command it was,
// and the conn serves on.
func (s *server) replyTooLarge(out []byte) []byte {
	return resp.AppendError(out, fmt.Sprintf("ERR reply too large: over the server's limit of %d bytes (-maxreply)", s.maxReply))
}

// bulkLen is the size of a bulk string reply of n bytes: $n\r\n...\r\n.
func bulkLen(n int) int {
	digits := 1
	for v := n; v >= 10; v /= 10 {
		digits++
	}
	return 1 + digits + 2 + n + 2
}

func (s *server) mset(out []byte, args [][]byte) []byte {
	if len(args)%2 != 1 {
		return wrongArgs(out, "mset")
	}
	s.store.mset(args[1:])
	return append(out, "+OK\r\n"...)
}

func (s *server) lpush(out []byte, args [][]byte) []byte { return s.push(out, args, true) }
func (s *server) rpush(out []byte, args [][]byte) []byte { return s.push(out, args, false) }

// push is LPUSH and RPUSH key element [element ...].
func (s *server) push(out []byte, args [][]byte, left bool) []byte {
	n, wrongType := s.store.push(args[1], args[2:], left)
	if wrongType {
		return resp.AppendError(out, errWrongType)
	}
	return resp.AppendInt(out, int64(n))
}

func (s *server) lpop(out []byte, args [][]byte) []byte { return s.pop(out, args, "lpop", true) }
func (s *server) rpop(out []byte, args [][]byte) []byte { return s.pop(out, args, "rpop", false) }

// pop is LPOP and RPOP key [count]: without a count, one element or nil;
// with one, an array of up to count elements, or the null array for a
// missing key, as in redis-server 7.
func (s *server) pop(out []byte, args [][]byte, name string, left bool) []byte {
	if len(args) > 3 {
		return wrongArgs(out, name)
	}
	if len(args) == 2 {
		var v []byte
		had, wrongType, _ := s.store.pop(args[1], 1, left, 0, func(e []byte) { v = e })
		switch {
		case wrongType:
			return resp.AppendError(out, errWrongType)
		case had == 0:
			return resp.AppendNull(out)
		}
		return resp.AppendBulk(out, v)
	}
	count, ok := parseInt(args[2])
	if !ok || count < 0 {
		return resp.AppendError(out, "ERR value is out of range, must be positive")
	}
	// Popped elements have left the store: they can be read unlocked.
	var elems [][]byte
	had, wrongType, tooLarge := s.store.pop(args[1], int(min(count, math.MaxInt32)), left, s.maxReply, func(e []byte) {
		elems = append(elems, e)
	})
	switch {
	case wrongType:
		return resp.AppendError(out, errWrongType)
	case tooLarge:
		return s.replyTooLarge(out)
	case had == 0:
		return resp.AppendArrayHeader(out, -1)
	}
	out = resp.AppendArrayHeader(out, len(elems))
	for _, e := range elems {
		out = resp.AppendBulk(out, e)
	}
	return out
}

func (s *server) llen(out []byte, args [][]byte) []byte {
	n, wrongType := s.store.llen(args[1])
	if wrongType {
		return resp.AppendError(out, errWrongType)
	}
	return resp.AppendInt(out, int64(n))
}

func (s *server) ttl(out []byte, args [][]byte) []byte {
	d := s.store.ttl(args[1])
	if d < 0 {
		return resp.AppendInt(out, int64(d))
	}
	return resp.AppendInt(out, int64((d+time.Second/2)/time.Second))
}

func (s *server) pttl(out []byte, args [][]byte) []byte {
	d := s.store.ttl(args[1])
	if d < 0 {
		return resp.AppendInt(out, int64(d))
	}
	return resp.AppendInt(out, int64((d+time.Millisecond/2)/time.Millisecond))
}

func (s *server) dbsize(out []byte, _ [][]byte) []byte {
	n, _ := s.store.size()
	return resp.AppendInt(out, int64(n))
}

// flush is FLUSHDB and FLUSHALL [ASYNC | SYNC].
func (s *server) flush(out []byte, args [][]byte) []byte {
	if len(args) > 2 || (len(args) == 2 && !is(args[1], "async") && !is(args[1], "sync")) {
		return resp.AppendError(out, errSyntax)
	}
	s.store.flush()
	return append(out, "+OK\r\n"...)
}

// command answers COMMAND and its subcommands with as little as clients
// need to carry on: no command documentation.
func (s *server) command(out []byte, args [][]byte) []byte {
	if len(args) >= 2 && is(args[1], "count") {
		return resp.AppendInt(out, int64(numCommands))
	}
	return resp.AppendArrayHeader(out, 0)
}

// client accepts the CLIENT calls client libraries make when they connect.
func (s *server) client(out []byte, args [][]byte) []byte {
	sub := args[1]
	switch {
	case is(sub, "setname") && len(args) == 3, is(sub, "setinfo") && len(args) == 4:
		return append(out, "+OK\r\n"...)
	case is(sub, "no-evict") || is(sub, "no-touch"):
		return append(out, "+OK\r\n"...)
	case is(sub, "getname") && len(args) == 2:
		return resp.AppendNull(out)
	case is(sub, "setname"), is(sub, "setinfo"), is(sub, "getname"):
		return wrongArgs(out, "client|"+strings.ToLower(string(sub)))
	}
	return unknownSubcommand(out, sub, "CLIENT")
}

func unknownSubcommand(out, sub []byte, cmd string) []byte {
	return resp.AppendError(out, fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", clip(sub), cmd))
}

// hello speaks RESP2 only: HELLO [2] [AUTH user pass] [SETNAME name]
// answers with the server's description; HELLO 3 gets NOPROTO, on which
// clients fall back to RESP2.
func (s *server) hello(out []byte, args [][]byte) []byte {
	if len(args) >= 2 {
		v, ok := parseInt(args[1])
		if !ok {
			return resp.AppendError(out, "ERR Protocol version is not an integer or out of range")
		}
		if v != 2 {
			return resp.AppendError(out, "NOPROTO sorry, this protocol version is not supported.")
		}
		for i := 2; i < len(args); i++ {
			switch {
			case is(args[i], "auth") && i+2 < len(args):
				i += 2
			case is(args[i], "setname") && i+1 < len(args):
				i++
			default:
				return resp.AppendError(out, fmt.Sprintf("ERR Syntax error in HELLO option '%s'", clip(args[i])))
			}
		}
	}
	out = resp.AppendArrayHeader(out, 14)
	out = resp.AppendBulkString(out, "server")
	out = resp.AppendBulkString(out, "redis")
	out = resp.AppendBulkString(out, "version")
	out = resp.AppendBulkString(out, redisVersion)
	out = resp.AppendBulkString(out, "proto")
	out = resp.AppendInt(out, 2)
	out = resp.AppendBulkString(out, "id")
	out = resp.AppendInt(out, 0)
	out = resp.AppendBulkString(out, "mode")
	out = resp.AppendBulkString(out, "standalone")
	out = resp.AppendBulkString(out, "role")
	out = resp.AppendBulkString(out, "master")
	out = resp.AppendBulkString(out, "modules")
	return resp.AppendArrayHeader(out, 0)
}

// redisVersion is the redis-server version kv claims to be compatible with,
// for clients that check it before using a command.
const redisVersion = "7.0.0"

// auth: kv has no users or passwords, and says so as redis-server does.
func (s *server) auth(out []byte, args [][]byte) []byte {
	if len(args) > 3 {
		return resp.AppendError(out, errSyntax)
	}
	return resp.AppendError(out, "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
}

func (s *server) selectDB(out []byte, args [][]byte) []byte {
	db, ok := parseInt(args[1])
	switch {
	case !ok:
		return resp.AppendError(out, errNotInteger)
	case db != 0:
		return resp.AppendError(out, "ERR DB index is out of range")
	}
	return append(out, "+OK\r\n"...)
}

// configParams are the parameters CONFIG GET reports, with the values that
// describe kv: no persistence, one database, no memory limit.
var configParams = [][2]string{
	{"save", ""},
	{"appendonly", "no"},
	{"databases", "1"},
	{"maxmemory", "0"},
}

// config is CONFIG GET pattern [pattern ...] and CONFIG RESETSTAT.
func (s *server) config(out []byte, args [][]byte) []byte {
	switch sub := args[1]; {
	case is(sub, "get") && len(args) >= 3:
		var match [][2]string
		for _, p := range configParams {
			for _, pat := range args[2:] {
				if ok, _ := path.Match(strings.ToLower(string(pat)), p[0]); ok {
					match = append(match, p)
					break
				}
			}
		}
		out = resp.AppendArrayHeader(out, 2*len(match))
		for _, p := range match {
			out = resp.AppendBulkString(resp.AppendBulkString(out, p[0]), p[1])
		}
		return out
	case is(sub, "get"):
		return wrongArgs(out, "config|get")
	case is(sub, "resetstat") && len(args) == 2:
		return append(out, "+OK\r\n"...)
	}
	return unknownSubcommand(out, args[1], "CONFIG")
}

// info reports a few fields in INFO's format, whatever section is asked.
func (s *server) info(out []byte, _ [][]byte) []byte {
	keys, expires := s.store.size()
	conns := 0
	if e := s.engine.Load(); e != nil {
		conns = (*e).Conns()
	}
	text := fmt.Sprintf("# Server\r\nredis_version:%s\r\nredis_mode:standalone\r\nevloop_kv:1\r\n"+
		"process_id:%d\r\ngo_version:%s\r\nuptime_in_seconds:%d\r\n\r\n"+
		"# Clients\r\nconnected_clients:%d\r\n\r\n"+
		"# Keyspace\r\ndb0:keys=%d,expires=%d,avg_ttl=0\r\n",
		redisVersion, os.Getpid(), runtime.Version(), int64(time.Since(s.store.epoch)/time.Second),
		conns, keys, expires)
	return resp.AppendBulkString(out, text)
}
