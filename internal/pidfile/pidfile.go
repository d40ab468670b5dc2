//go:build unix

// Package pidfile writes the file that names the serving process for a
// supervisor (-pid-file, systemd's PIDFile=), the one way for every path
// that writes one: with or without upgrades.
//
// Write never writes through a link: the pid goes to a new file in the same
// directory (O_EXCL|O_NOFOLLOW), which is then renamed over the path; rename
// replaces a symlink at the path rather than following it, and a reader
// sees the old file or the whole new one. Remove, at exit, removes the file
// only if it still holds this process's pid: after an upgrade it names the
// successor, which must keep it.
package pidfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Write makes path hold this process's pid.
func Write(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	var r [6]byte
	rand.Read(r[:])
	tmp := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", os.Getpid())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// Remove removes path if it is a regular file holding this process's pid,
// and reports whether it did. A link, or another process's pid, is left.
func Remove(path string) bool {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	fi, err := f.Stat()
	var b [32]byte
	n, _ := f.Read(b[:])
	f.Close()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid != os.Getpid() {
		return false
	}
	return os.Remove(path) == nil
}
