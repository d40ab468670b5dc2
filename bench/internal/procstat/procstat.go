// Package procstat reads a process's CPU time and memory from Linux /proc:
// CPU time from /proc/PID/stat (utime + stime, in clock ticks, summed over
// all threads) and memory from /proc/PID/status (VmRSS now, VmHWM peak). On
// other systems the reads fail and the benchmarks report the figures as
// unavailable.
//
// It is shared by bench (the harness, package main) and bench/tlsbench.
package procstat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// defaultClockTicks is USER_HZ, what sysconf(_SC_CLK_TCK) returns on Linux.
const defaultClockTicks = 100

// atClkTck is the auxiliary-vector key for the clock-tick rate; libc's
// sysconf(_SC_CLK_TCK) reads the same entry.
const atClkTck = 17

var clockTicksOnce = sync.OnceValue(func() int64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return defaultClockTicks
	}
	if v, ok := auxvLookup(b, atClkTck, int(unsafe.Sizeof(uintptr(0))), binary.NativeEndian); ok && v > 0 {
		return int64(v)
	}
	return defaultClockTicks
})

// clockTicks is the number of /proc clock ticks per second.
func clockTicks() int64 { return clockTicksOnce() }

// auxvLookup finds key in an auxiliary vector: pairs of machine words
// (key, value) of wordSize bytes, ended by key 0.
func auxvLookup(b []byte, key uint64, wordSize int, order binary.ByteOrder) (uint64, bool) {
	word := func(p []byte) uint64 {
		if wordSize == 4 {
			return uint64(order.Uint32(p))
		}
		return order.Uint64(p)
	}
	for len(b) >= 2*wordSize {
		k, v := word(b), word(b[wordSize:])
		b = b[2*wordSize:]
		if k == 0 {
			break
		}
		if k == key {
			return v, true
		}
	}
	return 0, false
}

// procCPU is the CPU time a process has used, in clock ticks.
type procCPU struct {
	UTime, STime uint64
}

// Ticks is user plus system ticks.
func (c procCPU) Ticks() uint64 { return c.UTime + c.STime }

// parseStat extracts utime and stime (fields 14 and 15) from the contents
// of /proc/PID/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses itself, so fields are counted from the last
// ')'.
func parseStat(s string) (procCPU, error) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return procCPU{}, errors.New("proc stat: no ')' after the command name")
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 13 {
		return procCPU{}, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	u, err := strconv.ParseUint(f[14-3], 10, 64)
	if err != nil {
		return procCPU{}, fmt.Errorf("proc stat: utime: %w", err)
	}
	st, err := strconv.ParseUint(f[15-3], 10, 64)
	if err != nil {
		return procCPU{}, fmt.Errorf("proc stat: stime: %w", err)
	}
	return procCPU{UTime: u, STime: st}, nil
}

// ReadCPU returns the CPU time process pid has used so far.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	c, err := parseStat(string(b))
	if err != nil {
		return 0, err
	}
	return ticksToDuration(c.Ticks(), clockTicks()), nil
}

func ticksToDuration(ticks uint64, hz int64) time.Duration {
	return time.Duration(ticks) * time.Second / time.Duration(hz)
}

// ParseStatusKB returns the value of a "Key:   1234 kB" line of
// /proc/PID/status, in bytes.
func ParseStatusKB(s, key string) (int64, error) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, fmt.Errorf("proc status: %s: no value", key)
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc status: %s: %w", key, err)
		}
		if len(f) > 1 && f[1] != "kB" {
			return 0, fmt.Errorf("proc status: %s: unit %q, want kB", key, f[1])
		}
		return v << 10, nil
	}
	return 0, fmt.Errorf("proc status: no %s line", key)
}

// Mem is a process's resident set size now and at its peak, in bytes.
type Mem struct {
	RSS, HWM int64
}

// ReadMem reads VmRSS and VmHWM of process pid.
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	s := string(b)
	rss, err := ParseStatusKB(s, "VmRSS")
	if err != nil {
		return Mem{}, err
	}
	hwm, err := ParseStatusKB(s, "VmHWM")
	if err != nil {
		return Mem{}, err
	}
	return Mem{RSS: rss, HWM: hwm}, nil
}
