package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/evloop/evloop/bench/internal/procstat"
)

// sysMem is the machine's kernel memory for sockets, read from /proc: it
// covers both ends of every loopback conn and whatever else runs.
type sysMem struct {
	TCPInUse int64 // TCP sockets in use (sockstat "inuse")
	TCPMem   int64 // bytes of TCP buffer memory (sockstat "mem", in pages)
	Slab     int64 // bytes of kernel slab (/proc/meminfo "Slab"): socket structs, files, epoll items
	// ListenOverflows counts connections dropped because an accept queue
	// was full (/proc/net/netstat TcpExt ListenOverflows), since boot.
	ListenOverflows int64
}

// parseNetstat returns one counter of a /proc/net/netstat section: the
// section comes as a line of names and a line of values, both starting
// with "Prefix:".
func parseNetstat(s, prefix, name string) (int64, error) {
	var names []string
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, prefix+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		if len(f) != len(names) {
			return 0, fmt.Errorf("netstat: %s: %d names, %d values", prefix, len(names), len(f))
		}
		for i, n := range names {
			if n == name {
				return strconv.ParseInt(f[i], 10, 64)
			}
		}
		return 0, fmt.Errorf("netstat: no %s %s", prefix, name)
	}
	return 0, fmt.Errorf("netstat: no %s lines", prefix)
}

// parseSockstat reads the TCP line of /proc/net/sockstat:
//
//	TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1
//
// mem is in pages of pageSize bytes.
func parseSockstat(s string, pageSize int) (inuse, memBytes int64, err error) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, "TCP:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f)%2 != 0 {
			return 0, 0, fmt.Errorf("sockstat: odd TCP line %q", strings.TrimSpace(line))
		}
		var haveInuse, haveMem bool
		for i := 0; i < len(f); i += 2 {
			v, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("sockstat: TCP %s: %w", f[i], err)
			}
			switch f[i] {
			case "inuse":
				inuse, haveInuse = v, true
			case "mem":
				memBytes, haveMem = v*int64(pageSize), true
			}
		}
		if !haveInuse || !haveMem {
			return 0, 0, fmt.Errorf("sockstat: TCP line without inuse and mem: %q", strings.TrimSpace(line))
		}
		return inuse, memBytes, nil
	}
	return 0, 0, fmt.Errorf("sockstat: no TCP line")
}

// readSysMem reads /proc/net/sockstat and /proc/meminfo.
func readSysMem() (sysMem, error) {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return sysMem{}, err
	}
	var m sysMem
	if m.TCPInUse, m.TCPMem, err = parseSockstat(string(b), os.Getpagesize()); err != nil {
		return sysMem{}, err
	}
	if b, err = os.ReadFile("/proc/meminfo"); err != nil {
		return sysMem{}, err
	}
	// Same "Key:   1234 kB" format as /proc/PID/status.
	if m.Slab, err = procstat.ParseStatusKB(string(b), "Slab"); err != nil {
		return sysMem{}, fmt.Errorf("meminfo: %w", err)
	}
	if b, err = os.ReadFile("/proc/net/netstat"); err != nil {
		return sysMem{}, err
	}
	if m.ListenOverflows, err = parseNetstat(string(b), "TcpExt", "ListenOverflows"); err != nil {
		return sysMem{}, err
	}
	return m, nil
}
