package reactor

import "github.com/evloop/evloop/internal/fdconn"

// fdPageBits sets the page size of fdTable: 512 slots, 4 KiB.
const fdPageBits = 9

type fdPage [1 << fdPageBits]*fdconn.FD

// fdTable maps a loop's fd numbers to its conns. It is a two-level table:
// pages are allocated on first use and never move, so growing to 10,000
// conns leaves no garbage behind (a doubling slice left about 60 bytes per
// conn to the garbage collector), and a lookup is two loads.
type fdTable struct {
	pages []*fdPage
}

func (t *fdTable) get(fd int) *fdconn.FD {
	p := fd >> fdPageBits
	if fd < 0 || p >= len(t.pages) || t.pages[p] == nil {
		return nil
	}
	return t.pages[p][fd&(1<<fdPageBits-1)]
}

func (t *fdTable) set(fd int, c *fdconn.FD) {
	p := fd >> fdPageBits
	if p >= len(t.pages) {
		if c == nil {
			return
		}
		grown := make([]*fdPage, max(2*len(t.pages), p+1))
		copy(grown, t.pages)
		t.pages = grown
	}
	if t.pages[p] == nil {
		if c == nil {
			return
		}
		t.pages[p] = new(fdPage)
	}
	t.pages[p][fd&(1<<fdPageBits-1)] = c
}

// each calls fn for every conn in the table, in fd order. A FIFO conn,
// which holds two fds, comes twice. fn may clear entries.
func (t *fdTable) each(fn func(c *fdconn.FD)) {
	for _, page := range t.pages {
		if page == nil {
			continue
		}
		for _, c := range page {
			if c != nil {
				fn(c)
			}
		}
	}
}
