package main

import (
	"hash/maphash"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"time"
)

// numShards splits the keyspace so that conns on different loops rarely
// wait for the same lock. A power of two, at most 64: multi-key commands
// lock a set of shards given as a bit mask.
const numShards = 64

// store is the keyspace: a map per shard, each behind its own mutex. String
// values are immutable once stored (SET copies, INCR stores a new slice),
// so a reader may use one after unlocking; a list changes in place, under
// the lock, and its elements are immutable.
//
// Expiry is lazy, as in redis-server: an expired key is deleted when it is
// next touched, and sweep removes a bounded number of the others.
type store struct {
	seed   maphash.Seed
	epoch  time.Time // the clock's origin; expiry deadlines are monotonic
	shards [numShards]shard
	cursor int // next shard sweep starts at (the ticker's goroutine only)
}

type shard struct {
	mu      sync.Mutex
	keys    map[string]entry
	expires map[string]struct{} // keys with a deadline, for sweep
	_       [64]byte            // keep neighbouring shards' locks off one cache line
}

type entry struct {
	key      string // the map's own key: overwriting reuses it, no allocation
	val      []byte // a string value; nil for a list
	list     *list  // a list value (never empty); nil for a string
	expireAt int64  // store clock, ns; 0: no expiry
}

func newStore() *store {
	s := &store{seed: maphash.MakeSeed(), epoch: time.Now()}
	for i := range s.shards {
		s.shards[i].keys = make(map[string]entry)
		s.shards[i].expires = make(map[string]struct{})
	}
	return s
}

// now is the store clock: monotonic nanoseconds since the store began.
func (s *store) now() int64 { return int64(time.Since(s.epoch)) }

// deadlineAt converts a Unix time in ms (SET ... PXAT) to the store clock.
func (s *store) deadlineAt(unixMs int64) int64 {
	d := unixMs*int64(time.Millisecond) - time.Now().UnixNano()
	return s.now() + d
}

func (s *store) shardIndex(key []byte) int {
	return int(maphash.Bytes(s.seed, key) & (numShards - 1))
}

func (s *store) shardOf(key []byte) *shard { return &s.shards[s.shardIndex(key)] }

// live looks key up in sh (locked), deleting it if it has expired. now is
// fetched only for keys with a deadline, so keys without one cost no clock
// read.
func (sh *shard) live(s *store, key []byte) (entry, bool) {
	e, ok := sh.keys[string(key)]
	if ok && e.expireAt != 0 && s.now() >= e.expireAt {
		delete(sh.keys, e.key)
		delete(sh.expires, e.key)
		return entry{}, false
	}
	return e, ok
}

// put stores val under key in sh (locked), reusing the key's string if the
// key exists (old is its live entry, if any).
func (sh *shard) put(key []byte, old entry, exists bool, val []byte, expireAt int64) {
	k := old.key
	if !exists {
		k = string(key)
	}
	sh.keys[k] = entry{key: k, val: val, expireAt: expireAt}
	switch {
	case expireAt != 0 && (!exists || old.expireAt == 0):
		sh.expires[k] = struct{}{}
	case expireAt == 0 && exists && old.expireAt != 0:
		delete(sh.expires, k)
	}
}

// get returns key's entry: its val if it holds a string, a non-nil list
// (not to be read after get returns) if a list.
func (s *store) get(key []byte) (entry, bool) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	e, ok := sh.live(s, key)
	sh.mu.Unlock()
	return e, ok
}

// setMode is SET's options.
type setMode struct {
	nx, xx, keepTTL, get bool
	expireAt             int64 // store clock; 0: none
}

// set stores a copy of val under key as SET does, replacing a value of any
// type. It reports whether it stored the value and, for SET ... GET, the
// previous value; SET ... GET of a list stores nothing and reports
// wrongType.
func (s *store) set(key, val []byte, m setMode) (old []byte, hadOld, stored, wrongType bool) {
	v := make([]byte, len(val))
	copy(v, val)
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, exists := sh.live(s, key)
	if m.get && e.list != nil {
		return nil, false, false, true
	}
	if (m.nx && exists) || (m.xx && !exists) {
		return e.val, exists, false, false
	}
	expireAt := m.expireAt
	if m.keepTTL && exists {
		expireAt = e.expireAt
	}
	sh.put(key, e, exists, v, expireAt)
	return e.val, exists, true, false
}

// shardMask is the set of shards keys fall in.
func (s *store) shardMask(keys [][]byte, step int) uint64 {
	var mask uint64
	for i := 0; i < len(keys); i += step {
		mask |= 1 << s.shardIndex(keys[i])
	}
	return mask
}

// lockShards locks the shards in mask in index order, so that commands
// locking several shards cannot deadlock.
func (s *store) lockShards(mask uint64) {
	for m := mask; m != 0; m &= m - 1 {
		s.shards[bits.TrailingZeros64(m)].mu.Lock()
	}
}

func (s *store) unlockShards(mask uint64) {
	for m := mask; m != 0; m &= m - 1 {
		s.shards[bits.TrailingZeros64(m)].mu.Unlock()
	}
}

// mset stores pairs (key, value, key, value, ...) atomically: no reader
// sees some of them stored and not the others.
func (s *store) mset(pairs [][]byte) {
	vals := make([][]byte, len(pairs)/2)
	for i := range vals {
		vals[i] = append([]byte(nil), pairs[2*i+1]...)
	}
	mask := s.shardMask(pairs, 2)
	s.lockShards(mask)
	for i := 0; i+1 < len(pairs); i += 2 {
		sh := s.shardOf(pairs[i])
		e, exists := sh.live(s, pairs[i])
		sh.put(pairs[i], e, exists, vals[i/2], 0)
	}
	s.unlockShards(mask)
}

// mget calls fn with each key's value (nil, false for a missing key or a
// list), all read at one instant.
func (s *store) mget(keys [][]byte, fn func(val []byte, ok bool)) {
	mask := s.shardMask(keys, 1)
	s.lockShards(mask)
	defer s.unlockShards(mask)
	for _, k := range keys {
		e, ok := s.shardOf(k).live(s, k)
		fn(e.val, ok && e.list == nil)
	}
}

// del deletes keys and counts those that existed.
func (s *store) del(keys [][]byte) int64 {
	var n int64
	for _, k := range keys {
		sh := s.shardOf(k)
		sh.mu.Lock()
		if e, ok := sh.live(s, k); ok {
			delete(sh.keys, e.key)
			delete(sh.expires, e.key)
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// exists counts the keys that exist; a key named twice counts twice.
func (s *store) exists(keys [][]byte) int64 {
	var n int64
	for _, k := range keys {
		sh := s.shardOf(k)
		sh.mu.Lock()
		if _, ok := sh.live(s, k); ok {
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// incrResult says why incrBy did not store.
type incrResult int

const (
	incrOK incrResult = iota
	incrNotInteger
	incrOverflow
	incrWrongType
)

// incrBy adds delta to the integer stored at key (0 if missing), keeping
// its deadline, and returns the new value.
func (s *store) incrBy(key []byte, delta int64) (int64, incrResult) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, exists := sh.live(s, key)
	var cur int64
	if e.list != nil {
		return 0, incrWrongType
	}
	if exists {
		v, ok := parseInt(e.val)
		if !ok {
			return 0, incrNotInteger
		}
		cur = v
	}
	if (delta > 0 && cur > math.MaxInt64-delta) || (delta < 0 && cur < math.MinInt64-delta) {
		return 0, incrOverflow
	}
	next := cur + delta
	sh.put(key, e, exists, formatInt(next), e.expireAt)
	return next, incrOK
}

// push adds copies of vals to the head (left) or tail of the list at key,
// one at a time as LPUSH and RPUSH do, creating it if missing, and returns
// its length. wrongType: key holds a string.
func (s *store) push(key []byte, vals [][]byte, left bool) (n int, wrongType bool) {
	// One allocation for every element: they are immutable and freed
	// together once all are popped.
	size := 0
	for _, v := range vals {
		size += len(v)
	}
	mem := make([]byte, 0, size)
	var few [4][]byte // LPUSH of a handful of elements: no second allocation
	copies := few[:0]
	if len(vals) > len(few) {
		copies = make([][]byte, 0, len(vals))
	}
	copies = copies[:len(vals)]
	for i, v := range vals {
		mem = append(mem, v...)
		copies[i] = mem[len(mem)-len(v) : len(mem) : len(mem)]
	}
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, exists := sh.live(s, key)
	if exists && e.list == nil {
		return 0, true
	}
	if !exists {
		e = entry{key: string(key), list: &list{}}
		sh.keys[e.key] = e
	}
	for _, v := range copies {
		e.list.push(v, left)
	}
	return e.list.len(), false
}

// pop removes up to count elements from the head (left) or tail of the list
// at key and calls fn with each; a list left empty is deleted. It returns
// how many elements the list had before (0: missing). wrongType: key holds
// a string. tooLarge: the reply to them (an array of bulk strings) would
// pass maxReply (0: no limit), and nothing was popped.
func (s *store) pop(key []byte, count int, left bool, maxReply int, fn func(v []byte)) (had int, wrongType, tooLarge bool) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, exists := sh.live(s, key)
	switch {
	case !exists:
		return 0, false, false
	case e.list == nil:
		return 0, true, false
	}
	had = e.list.len()
	if maxReply > 0 {
		size := bulkLen(had) // the array header, as long as a bulk header
		for i := 0; i < min(count, had); i++ {
			if size += bulkLen(len(e.list.at(i, left))); size > maxReply {
				return had, false, true
			}
		}
	}
	for i := 0; i < count && e.list.len() > 0; i++ {
		fn(e.list.pop(left))
	}
	if e.list.len() == 0 {
		delete(sh.keys, e.key)
		delete(sh.expires, e.key)
	}
	return had, false, false
}

// llen is the length of the list at key (0 if missing).
func (s *store) llen(key []byte) (n int, wrongType bool) {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, exists := sh.live(s, key)
	switch {
	case !exists:
		return 0, false
	case e.list == nil:
		return 0, true
	}
	return e.list.len(), false
}

// list is a deque of elements in a ring buffer: pushing and popping at
// either end is O(1), as LPUSH, RPUSH, LPOP and RPOP need. Guarded by its
// shard's lock.
type list struct {
	ring [][]byte // len(ring) is 0 or a power of two
	head int      // index of the first element
	n    int
}

func (l *list) len() int { return l.n }

func (l *list) push(v []byte, left bool) {
	if l.n == len(l.ring) {
		l.grow()
	}
	mask := len(l.ring) - 1
	if left {
		l.head = (l.head - 1) & mask
		l.ring[l.head] = v
	} else {
		l.ring[(l.head+l.n)&mask] = v
	}
	l.n++
}

func (l *list) pop(left bool) []byte {
	mask := len(l.ring) - 1
	i := (l.head + l.n - 1) & mask
	if left {
		i = l.head
		l.head = (l.head + 1) & mask
	}
	v := l.ring[i]
	l.ring[i] = nil // the element's memory is freed once nothing else holds it
	l.n--
	return v
}

// at is the i-th element from the head (left) or the tail.
func (l *list) at(i int, left bool) []byte {
	mask := len(l.ring) - 1
	if left {
		return l.ring[(l.head+i)&mask]
	}
	return l.ring[(l.head+l.n-1-i)&mask]
}

func (l *list) grow() {
	ring := make([][]byte, max(4, 2*len(l.ring)))
	for i := 0; i < l.n; i++ {
		ring[i] = l.ring[(l.head+i)&(len(l.ring)-1)]
	}
	l.ring, l.head = ring, 0
}

// ttl is the time left before key expires: -2 if it does not exist, -1 if
// it has no deadline.
func (s *store) ttl(key []byte) time.Duration {
	sh := s.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.live(s, key)
	switch {
	case !ok:
		return -2
	case e.expireAt == 0:
		return -1
	}
	return time.Duration(max(e.expireAt-s.now(), 0))
}

// size counts keys, and keys with a deadline (some may have expired and
// not yet been swept).
func (s *store) size() (keys, expires int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		keys += len(sh.keys)
		expires += len(sh.expires)
		sh.mu.Unlock()
	}
	return keys, expires
}

// flush deletes every key.
func (s *store) flush() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.keys)
		clear(sh.expires)
		sh.mu.Unlock()
	}
}

// sweep examines at most budget keys that have a deadline, a few per
// shard, shard after shard from where the last sweep stopped, and deletes
// those that have expired. It returns how many it deleted. Map iteration
// starts at a random place, so successive sweeps sample different keys.
func (s *store) sweep(budget int) int {
	const perShard = 32
	deleted := 0
	now := s.now()
	for visited := 0; visited < numShards && budget > 0; visited++ {
		sh := &s.shards[s.cursor]
		s.cursor = (s.cursor + 1) % numShards
		sh.mu.Lock()
		n := 0
		for k := range sh.expires {
			if n == perShard || n == budget {
				break
			}
			n++
			if e := sh.keys[k]; e.expireAt != 0 && now >= e.expireAt {
				delete(sh.keys, k)
				delete(sh.expires, k)
				deleted++
			}
		}
		sh.mu.Unlock()
		budget -= n
	}
	return deleted
}

// parseInt parses b as redis-server's string2ll does: the canonical decimal
// form of an int64, an optional '-' and digits without a leading zero.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	digits := b
	if neg {
		digits = b[1:]
	}
	if len(digits) == 0 || (digits[0] == '0' && len(b) > 1) {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		hi, lo := bits.Mul64(u, 10)
		if hi != 0 {
			return 0, false
		}
		u, hi = bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 {
			return 0, false
		}
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

func formatInt(v int64) []byte {
	return strconv.AppendInt(make([]byte, 0, 20), v, 10)
}
