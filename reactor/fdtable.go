package reactor

// fdPageBits sets the page size of fdTable: 512 slots, 8 KiB.
const fdPageBits = 9

// fdTable maps a loop's fd numbers to their watchers. It is a two-level
// table: pages are allocated on first use and never move, so growing to
// 10,000 conns leaves no garbage behind (a doubling slice left about 60
// bytes per conn to the garbage collector), and a lookup is two loads.
// W is the entry type, a watcher in a loop; its zero value is an empty
// slot.
type fdTable[W comparable] struct {
	pages []*[1 << fdPageBits]W
}

func (t *fdTable[W]) get(fd int) W {
	p := fd >> fdPageBits
	if fd < 0 || p >= len(t.pages) || t.pages[p] == nil {
		var none W
		return none
	}
	return t.pages[p][fd&(1<<fdPageBits-1)]
}

func (t *fdTable[W]) set(fd int, w W) {
	var none W
	if fd < 0 {
		return
	}
	p := fd >> fdPageBits
	if p >= len(t.pages) {
		if w == none {
			return
		}
		grown := make([]*[1 << fdPageBits]W, max(2*len(t.pages), p+1))
		copy(grown, t.pages)
		t.pages = grown
	}
	if t.pages[p] == nil {
		if w == none {
			return
		}
		t.pages[p] = new([1 << fdPageBits]W)
	}
	t.pages[p][fd&(1<<fdPageBits-1)] = w
}

// each calls fn for every entry in the table, in fd order. A FIFO pair,
// which holds two fds, comes twice. fn may clear entries.
func (t *fdTable[W]) each(fn func(fd int, w W)) {
	var none W
	for i, page := range t.pages {
		if page == nil {
			continue
		}
		for j, w := range page {
			if w != none {
				fn(i<<fdPageBits|j, w)
			}
		}
	}
}

// scan calls fn for the entries from fd from on, in fd order, until fn
// returns false. It returns the fd to resume from, and whether any are
// left to visit. fn may clear and add entries.
func (t *fdTable[W]) scan(from int, fn func(fd int, w W) bool) (next int, more bool) {
	var none W
	for fd := max(from, 0); fd>>fdPageBits < len(t.pages); fd++ {
		page := t.pages[fd>>fdPageBits]
		if page == nil {
			fd |= 1<<fdPageBits - 1 // on to the next page
			continue
		}
		if w := page[fd&(1<<fdPageBits-1)]; w != none && !fn(fd, w) {
			return fd + 1, true
		}
	}
	return 0, false
}
