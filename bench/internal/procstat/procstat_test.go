package procstat

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"
)

// A real /proc/PID/stat line, with a command name that has spaces and
// parentheses to trip naive field splitting.
const sampleStat = "4242 (my (echo) srv) S 1 4242 4242 0 -1 4194560 1234 0 0 0 " +
	"731 289 0 0 20 0 5 0 123456 812345678 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

func TestParseStat(t *testing.T) {
	c, err := parseStat(sampleStat)
	if err != nil {
		t.Fatal(err)
	}
	if c.UTime != 731 || c.STime != 289 || c.Ticks() != 1020 {
		t.Fatalf("got %+v, want utime 731 stime 289", c)
	}
	if d := ticksToDuration(c.Ticks(), 100); d != 10200*time.Millisecond {
		t.Fatalf("1020 ticks at 100 Hz = %v", d)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) S 1 2 3", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 2 0"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

const sampleStatus = `Name:	echo
Umask:	0022
State:	S (sleeping)
VmPeak:	 1261388 kB
VmHWM:	   70612 kB
VmRSS:	   12345 kB
Threads:	5
`

func TestParseStatus(t *testing.T) {
	rss, err := ParseStatusKB(sampleStatus, "VmRSS")
	if err != nil || rss != 12345*1024 {
		t.Fatalf("VmRSS = %d, %v", rss, err)
	}
	hwm, err := ParseStatusKB(sampleStatus, "VmHWM")
	if err != nil || hwm != 70612*1024 {
		t.Fatalf("VmHWM = %d, %v", hwm, err)
	}
	if _, err := ParseStatusKB(sampleStatus, "VmSwap"); err == nil {
		t.Error("missing key should fail")
	}
	if _, err := ParseStatusKB("VmRSS:\t12 MB\n", "VmRSS"); err == nil {
		t.Error("unexpected unit should fail")
	}
}

func TestAuxvLookup(t *testing.T) {
	for _, ws := range []int{4, 8} {
		var b []byte
		put := func(v uint64) {
			if ws == 4 {
				b = binary.LittleEndian.AppendUint32(b, uint32(v))
			} else {
				b = binary.LittleEndian.AppendUint64(b, v)
			}
		}
		put(6)
		put(4096) // AT_PAGESZ
		put(atClkTck)
		put(250)
		put(0)
		put(0)
		put(atClkTck) // after the terminator: ignored
		put(999)
		if v, ok := auxvLookup(b, atClkTck, ws, binary.LittleEndian); !ok || v != 250 {
			t.Errorf("word size %d: got %d, %v", ws, v, ok)
		}
		if _, ok := auxvLookup(b, 99, ws, binary.LittleEndian); ok {
			t.Errorf("word size %d: found a missing key", ws)
		}
	}
}

func TestReadOwnProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	if hz := clockTicks(); hz != 100 {
		t.Logf("clock ticks %d (not the usual 100)", hz)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // burn a little CPU
	}
	if _, err := ReadCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("implausible memory %+v", m)
	}
}
