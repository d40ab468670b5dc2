//go:build linux

// Package ring is a minimal io_uring on golang.org/x/sys/unix: setup, the
// mmap of the submission and completion rings and of the SQE array, enter
// (submit and wait, with a timeout), and a provided-buffer ring. It holds
// exactly what the uring backend uses and no more; it is not safe for
// concurrent use (one loop goroutine owns one Ring).
//
// Memory the kernel reads or writes through an SQE (a send's bytes, an
// accept's address, a read's buffer) must stay alive and unmoved until that
// SQE's completion is reaped: the caller keeps a reference to it until then
// (Go's heap does not move objects).
package ring

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Opcodes (include/uapi/linux/io_uring.h).
const (
	OpNop         = 0
	OpPollAdd     = 6
	OpTimeout     = 11
	OpAccept      = 13
	OpAsyncCancel = 14
	OpConnect     = 16
	OpClose       = 19
	OpRead        = 22
	OpWrite       = 23
	OpSend        = 26
	OpRecv        = 27
	// OpReadMultishot reads into provided buffers until cancelled, for
	// what has no recv (a pipe).
	OpReadMultishot = 49
)

// SQE flags.
const (
	SQEFixedFile    = 1 << 0
	SQEIOLink       = 1 << 2
	SQEAsync        = 1 << 4
	SQEBufferSelect = 1 << 5
)

// CQE flags.
const (
	CQEFBuffer      = 1 << 0 // the upper 16 bits of Flags hold a provided buffer's id
	CQEFMore        = 1 << 1 // a multishot request stays armed
	CQEFBufMore     = 1 << 4 // an incremental provided buffer stays with the kernel
	CQEBufferShift  = 16
	AcceptMultishot = 1 << 0 // in Ioprio of an accept
	RecvMultishot   = 1 << 1 // in Ioprio of a recv
	PollAddMulti    = 1 << 0 // in Len of a poll add
	CancelAll       = 1 << 0 // in OpFlags of a cancel
)

// Setup flags and features.
const (
	SetupClamp        = 1 << 4
	SetupRDisabled    = 1 << 6 // start disabled: EnableRings on the submitting thread
	SetupSubmitAll    = 1 << 7
	SetupCoopTaskrun  = 1 << 8
	SetupSingleIssuer = 1 << 12
	SetupDeferTaskrun = 1 << 13

	FeatSingleMmap = 1 << 0
	FeatNoDrop     = 1 << 1
	FeatExtArg     = 1 << 8
	FeatMinTimeout = 1 << 15 // min_wait_usec in the wait's ext arg (6.12)
)

const (
	enterGetEvents = 1 << 0
	enterExtArg    = 1 << 3

	offSQRing = 0
	offCQRing = 0x8000000
	offSQEs   = 0x10000000

	registerEnableRings = 12
	registerPbufRing    = 22
	unregisterPbufRing  = 23
)

type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// Params is struct io_uring_params.
type Params struct {
	SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// SQE is struct io_uring_sqe (64 bytes).
type SQE struct {
	Opcode   uint8
	Flags    uint8
	Ioprio   uint16
	Fd       int32
	Off      uint64 // also addr2
	Addr     uint64
	Len      uint32
	OpFlags  uint32 // msg_flags, accept_flags, timeout_flags, cancel_flags, poll32_events
	UserData uint64
	BufGroup uint16 // buf_index or buf_group
	_        uint16
	_        int32
	_        [2]uint64
}

// CQE is struct io_uring_cqe (16 bytes).
type CQE struct {
	UserData uint64
	Res      int32
	Flags    uint32
}

// BufferID is the id of the provided buffer a completion used (CQEFBuffer).
func (c CQE) BufferID() uint16 { return uint16(c.Flags >> CQEBufferShift) }

// Err is the completion's error, or nil when Res is not negative.
func (c CQE) Err() error {
	if c.Res < 0 {
		return syscall.Errno(-c.Res)
	}
	return nil
}

// ErrUnavailable wraps every reason io_uring cannot be used here (disabled
// by sysctl, refused by seccomp, missing from the kernel): callers test it
// with errors.Is and refuse to start rather than fall back.
var ErrUnavailable = errors.New("io_uring unavailable")

// setup is io_uring_setup(2); a variable so tests can inject failures.
var setup = func(entries uint32, p *Params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// disabledPath is the sysctl saying whether io_uring may be used.
var disabledPath = "/proc/sys/kernel/io_uring_disabled"

// Probe tells why io_uring cannot be used, or nil. It checks the sysctl
// and sets up (and closes) a small ring.
func Probe() error {
	if b, err := os.ReadFile(disabledPath); err == nil && len(b) > 0 && b[0] != '0' {
		return fmt.Errorf("%w: %s is %s", ErrUnavailable, disabledPath, string(b[:1]))
	}
	r, err := New(4, 0)
	if err != nil {
		return err
	}
	r.Close()
	return nil
}

// Ring is one io_uring instance.
type Ring struct {
	fd       int
	params   Params
	sqMem    []byte
	cqMem    []byte // the same mapping as sqMem with FeatSingleMmap
	sqeMem   []byte
	sqHead   *uint32
	sqTail   *uint32
	sqMask   uint32
	sqCount  uint32
	sqes     []SQE
	cqHead   *uint32
	cqTail   *uint32
	cqMask   uint32
	cqes     []CQE
	sqeTail  uint32 // SQEs handed out by GetSQE
	sqeHead  uint32 // SQEs published to the kernel
	extArg   bool
	waitArgs getEventsArg
	ts       unix.Timespec
}

type getEventsArg struct {
	sigmask   uint64
	sigmaskSz uint32
	minWait   uint32
	ts        uint64
}

// New sets up a ring of at least entries SQEs with setup flags. Failures
// that mean io_uring is off here wrap ErrUnavailable.
func New(entries uint32, flags uint32) (*Ring, error) {
	r := &Ring{}
	r.params.Flags = flags | SetupClamp
	fd, err := setup(entries, &r.params)
	if err != nil {
		switch err {
		case unix.ENOSYS:
			return nil, fmt.Errorf("%w: io_uring_setup: %v (kernel without io_uring)", ErrUnavailable, err)
		case unix.EPERM, unix.EACCES:
			return nil, fmt.Errorf("%w: io_uring_setup: %v (disabled by sysctl or refused by seccomp)", ErrUnavailable, err)
		case unix.EINVAL:
			// The entries are clamped, so what the kernel refuses is a
			// setup flag it does not know (DEFER_TASKRUN came in 6.1).
			return nil, fmt.Errorf("%w: io_uring_setup: %v (kernel too old for setup flags %#x)", ErrUnavailable, err, r.params.Flags)
		}
		return nil, os.NewSyscallError("io_uring_setup", err)
	}
	r.fd = fd
	if err := r.mmap(); err != nil {
		r.Close()
		return nil, err
	}
	r.extArg = r.params.Features&FeatExtArg != 0
	if r.params.Features&FeatSingleMmap == 0 || !r.extArg {
		r.Close()
		return nil, fmt.Errorf("%w: kernel too old (features %#x lack single mmap or ext arg)", ErrUnavailable, r.params.Features)
	}
	// The SQ array maps ring slots to SQEs one to one, once.
	arr := unsafe.Slice((*uint32)(unsafe.Pointer(&r.sqMem[r.params.sqOff.array])), r.sqCount)
	for i := range arr {
		arr[i] = uint32(i)
	}
	return r, nil
}

func (r *Ring) mmap() error {
	p := &r.params
	sqSize := p.sqOff.array + p.SQEntries*4
	cqSize := p.cqOff.cqes + p.CQEntries*uint32(unsafe.Sizeof(CQE{}))
	size := max(sqSize, cqSize)
	var err error
	r.sqMem, err = unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	r.cqMem = r.sqMem
	r.sqeMem, err = unix.Mmap(r.fd, offSQEs, int(p.SQEntries)*int(unsafe.Sizeof(SQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return os.NewSyscallError("mmap", err)
	}
	u32 := func(mem []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
	r.sqHead, r.sqTail = u32(r.sqMem, p.sqOff.head), u32(r.sqMem, p.sqOff.tail)
	r.sqMask, r.sqCount = *u32(r.sqMem, p.sqOff.ringMask), *u32(r.sqMem, p.sqOff.ringEntries)
	r.sqes = unsafe.Slice((*SQE)(unsafe.Pointer(&r.sqeMem[0])), p.SQEntries)
	r.cqHead, r.cqTail = u32(r.cqMem, p.cqOff.head), u32(r.cqMem, p.cqOff.tail)
	r.cqMask = *u32(r.cqMem, p.cqOff.ringMask)
	r.cqes = unsafe.Slice((*CQE)(unsafe.Pointer(&r.cqMem[p.cqOff.cqes])), p.CQEntries)
	return nil
}

// Fd is the ring's file descriptor.
func (r *Ring) Fd() int { return r.fd }

// Features are the kernel's IORING_FEAT_ bits.
func (r *Ring) Features() uint32 { return r.params.Features }

// Entries is the size of the submission queue.
func (r *Ring) Entries() uint32 { return r.sqCount }

// EnableRings enables a ring set up with SetupRDisabled. With
// SetupSingleIssuer, the calling thread becomes the only one that may
// submit.
func (r *Ring) EnableRings() error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEnableRings, 0, 0, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("io_uring_register(ENABLE_RINGS)", errno)
	}
	return nil
}

// Close unmaps the rings and closes the ring fd; the kernel cancels what is
// still in flight.
func (r *Ring) Close() error {
	if r.sqeMem != nil {
		unix.Munmap(r.sqeMem)
		r.sqeMem = nil
	}
	if r.sqMem != nil {
		unix.Munmap(r.sqMem)
		r.sqMem, r.cqMem = nil, nil
	}
	if r.fd > 0 {
		err := unix.Close(r.fd)
		r.fd = -1
		return err
	}
	return nil
}

// GetSQE returns a zeroed SQE to fill, or nil when the submission queue is
// full (Submit, then ask again).
func (r *Ring) GetSQE() *SQE {
	head := atomic.LoadUint32(r.sqHead)
	if r.sqeTail-head >= r.sqCount {
		return nil
	}
	s := &r.sqes[r.sqeTail&r.sqMask]
	*s = SQE{}
	r.sqeTail++
	return s
}

// Pending is the number of SQEs filled and not yet submitted.
func (r *Ring) Pending() uint32 { return r.sqeTail - r.sqeHead }

// flushSQ publishes the filled SQEs to the kernel.
func (r *Ring) flushSQ() uint32 {
	if r.sqeTail != r.sqeHead {
		r.sqeHead = r.sqeTail
		atomic.StoreUint32(r.sqTail, r.sqeTail)
	}
	return r.sqeTail - atomic.LoadUint32(r.sqHead)
}

// Submit hands the filled SQEs to the kernel without waiting.
func (r *Ring) Submit() (int, error) { return r.SubmitAndWait(0, 0) }

// SubmitAndWait submits the filled SQEs and, when wait > 0, waits until at
// least wait completions are ready or timeout passes (timeout < 0: no
// limit). A timeout or a signal is not an error: the caller reaps what is
// there.
func (r *Ring) SubmitAndWait(wait uint32, timeout time.Duration) (int, error) {
	return r.SubmitAndWaitMin(wait, 0, timeout)
}

// MinWait tells whether the kernel takes SubmitAndWaitMin's minWait.
func (r *Ring) MinWait() bool { return r.params.Features&FeatMinTimeout != 0 }

// SubmitAndWaitMin is SubmitAndWait that waits for wait completions only
// for minWait: after it, any one completion ends the wait. Without the
// kernel's support (MinWait) it waits for one completion. The kernel's
// min_wait outlasts a shorter timeout, so minWait is cut to the timeout
// (a timeout of 0 only looks).
func (r *Ring) SubmitAndWaitMin(wait uint32, minWait, timeout time.Duration) (int, error) {
	toSubmit := r.flushSQ()
	var flags uintptr
	var arg unsafe.Pointer
	var argSz uintptr
	if timeout >= 0 {
		minWait = min(minWait, timeout)
	}
	if wait > 1 && (minWait <= 0 || !r.MinWait()) {
		wait = 1
	}
	if wait > 0 {
		flags |= enterGetEvents
		if timeout >= 0 || wait > 1 {
			r.waitArgs = getEventsArg{}
			if timeout >= 0 {
				r.ts = unix.NsecToTimespec(int64(timeout))
				r.waitArgs.ts = uint64(uintptr(unsafe.Pointer(&r.ts)))
			}
			if wait > 1 {
				r.waitArgs.minWait = uint32(max(minWait/time.Microsecond, 1))
			}
			flags |= enterExtArg
			arg, argSz = unsafe.Pointer(&r.waitArgs), unsafe.Sizeof(r.waitArgs)
		}
	}
	if toSubmit == 0 && wait == 0 {
		return 0, nil
	}
	// A call that cannot sleep is raw: the runtime is not told the
	// goroutine is in a system call, so its P is not handed off. One that
	// may sleep, however briefly, tells it, so that other goroutines get
	// the P meanwhile (a raw 50us wait measured the same).
	enter := unix.Syscall6
	if wait == 0 || timeout == 0 {
		enter = unix.RawSyscall6
	}
	for {
		n, _, errno := enter(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(toSubmit), uintptr(wait), flags, uintptr(arg), argSz)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			if wait > 0 {
				return 0, nil
			}
			continue
		case unix.ETIME, unix.EBUSY, unix.EAGAIN:
			// ETIME: the wait timed out. EBUSY/EAGAIN: the completion
			// queue is full; the caller reaps and submits again.
			return 0, nil
		}
		return 0, os.NewSyscallError("io_uring_enter", errno)
	}
}

// Reap calls fn for each ready completion, in order, and marks them seen.
// It returns how many there were.
func (r *Ring) Reap(fn func(CQE)) int {
	n := 0
	for {
		head := *r.cqHead // only this goroutine writes it
		tail := atomic.LoadUint32(r.cqTail)
		if head == tail {
			return n
		}
		for ; head != tail; head++ {
			c := r.cqes[head&r.cqMask]
			// Mark it seen before fn runs: fn may submit, and a full
			// completion queue would make that fail.
			atomic.StoreUint32(r.cqHead, head+1)
			fn(c)
			n++
		}
	}
}

// BufRing is a provided-buffer ring (IORING_REGISTER_PBUF_RING): buffers
// the kernel picks from when a recv with SQEBufferSelect completes, so that
// a conn with a recv armed but no data holds no buffer. Its memory (ring
// and buffers) is one anonymous mapping, outside Go's heap.
//
// Where the kernel has it (6.12 on), the ring is incremental
// (IOU_PBUF_RING_INC): a receive takes only the bytes it fills from the
// buffer at the head, and the next receive goes on in the same buffer. A
// buffer goes back to the application once it is used up, which its last
// completion tells by lacking CQEFBufMore. Small receives thus share pages
// instead of each touching a buffer of its own: 9,000 one-byte receives
// touch three pages, not every buffer's first page, and hot data stays in
// few cache lines. Take hands out each completion's bytes and says when
// the buffer is the application's to Recycle.
type BufRing struct {
	r       *Ring
	group   uint16
	entries uint16 // a power of two
	size    int    // bytes per buffer
	mem     []byte // the ring's entries, then the buffers
	bufs    []byte
	tail    uint16
	ring    []bufEntry
	inc     bool
	off     []uint32 // incremental: bytes of each buffer the kernel has filled
}

// bufEntry is struct io_uring_buf.
type bufEntry struct {
	addr uint64
	len  uint32
	bid  uint16
	resv uint16 // in entry 0: the ring's tail
}

// pbufRingInc asks for an incremental ring (IOU_PBUF_RING_INC).
const pbufRingInc = 2

type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid        uint16
	flags       uint16
	resv        [3]uint64
}

// NewBufRing registers entries (a power of two) buffers of size bytes as
// buffer group group, all handed to the kernel.
func (r *Ring) NewBufRing(group uint16, entries uint16, size int) (*BufRing, error) {
	if entries == 0 || entries&(entries-1) != 0 {
		return nil, fmt.Errorf("ring: %d buffers: want a power of two", entries)
	}
	ringBytes := int(entries) * int(unsafe.Sizeof(bufEntry{}))
	page := os.Getpagesize()
	ringBytes = (ringBytes + page - 1) &^ (page - 1)
	mem, err := unix.Mmap(-1, 0, ringBytes+int(entries)*size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	b := &BufRing{r: r, group: group, entries: entries, size: size, mem: mem, bufs: mem[ringBytes:]}
	b.ring = unsafe.Slice((*bufEntry)(unsafe.Pointer(&mem[0])), entries)
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), ringEntries: uint32(entries), bgid: group}
	errno := b.register(reg, incremental)
	if errno == unix.EINVAL && incremental { // a kernel before 6.12
		errno = b.register(reg, false)
	}
	if errno != 0 {
		unix.Munmap(mem)
		return nil, os.NewSyscallError("io_uring_register(PBUF_RING)", errno)
	}
	if b.inc {
		b.off = make([]uint32, entries)
	}
	for i := uint16(0); i < entries; i++ {
		b.add(i)
	}
	b.publish()
	return b, nil
}

// incremental says whether NewBufRing asks for an incremental ring; a
// variable so that tests cover both kinds.
var incremental = true

func (b *BufRing) register(reg bufReg, inc bool) syscall.Errno {
	if inc {
		reg.flags = pbufRingInc
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(b.r.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	if errno == 0 {
		b.inc = inc
	}
	return errno
}

// Incremental tells whether the ring is incremental (see BufRing).
func (b *BufRing) Incremental() bool { return b.inc }

// Take is the bytes completion c received into a provided buffer (nil when
// it used none), and whether the kernel is done with that buffer, which
// then is the caller's to Recycle once the bytes are used. Completions must
// be taken in the order they are reaped: an incremental buffer's bytes are
// found by counting what the completions before filled.
func (b *BufRing) Take(c CQE) (data []byte, done bool) {
	data, done, _ = b.TakeCut(c)
	return data, done
}

// TakeCut is Take that also tells whether the receive was cut short: it
// filled what the receives before it left of an incremental buffer, so
// more of what the peer sent with it may wait in the socket. (A receive
// that fills a whole buffer is cut where any read of that size would be.)
func (b *BufRing) TakeCut(c CQE) (data []byte, done, cut bool) {
	if c.Flags&CQEFBuffer == 0 {
		return nil, false, false
	}
	bid := c.BufferID()
	n := max(int(c.Res), 0)
	if !b.inc {
		return b.Buf(bid, n), true, false
	}
	start := int(bid)*b.size + int(b.off[bid])
	data = b.bufs[start : start+n : start+n]
	if c.Flags&CQEFBufMore != 0 {
		b.off[bid] += uint32(n)
		return data, false, false
	}
	cut = b.off[bid] > 0 && start+n == (int(bid)+1)*b.size
	b.off[bid] = 0
	return data, true, cut
}

// Drop takes completion c's bytes, unused, and recycles its buffer if the
// kernel is done with it.
func (b *BufRing) Drop(c CQE) {
	if _, done := b.Take(c); done {
		b.Recycle(c.BufferID())
	}
}

// Group is the buffer group id to put in a recv's BufGroup.
func (b *BufRing) Group() uint16 { return b.group }

// Size is the size of each buffer.
func (b *BufRing) Size() int { return b.size }

// Buf is buffer bid's first n bytes, as a completion filled them. It is
// valid until Recycle(bid).
func (b *BufRing) Buf(bid uint16, n int) []byte {
	off := int(bid) * b.size
	return b.bufs[off : off+n : off+b.size]
}

func (b *BufRing) add(bid uint16) {
	e := &b.ring[b.tail&(b.entries-1)]
	e.addr = uint64(uintptr(unsafe.Pointer(&b.bufs[int(bid)*b.size])))
	e.len = uint32(b.size)
	e.bid = bid
	b.tail++
}

func (b *BufRing) publish() {
	// The tail is the resv field of entry 0, written with release order.
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b.ring[0].bid)), uint32(b.ring[0].bid)|uint32(b.tail)<<16)
}

// Recycle gives buffer bid back to the kernel.
func (b *BufRing) Recycle(bid uint16) {
	b.add(bid)
	b.publish()
}

// Close unregisters the group and frees its memory.
func (b *BufRing) Close() {
	if b.mem == nil {
		return
	}
	reg := bufReg{bgid: b.group}
	unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(b.r.fd), unregisterPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0)
	unix.Munmap(b.mem)
	b.mem = nil
}
