//go:build linux

package uringbackend

// connTable holds a loop's conns by id, the index of their slot, which
// completions carry in their user data. A slot is reused once its conn is
// forgotten, when the kernel holds nothing of it (no operation naming it is
// in flight), so no late completion can reach the next conn in the slot.
// A slot costs 8 bytes, where a map entry cost several times that.
type connTable struct {
	slots []*uconn // slot 0 stays empty: id 0 is no conn
	free  []uint32
	n     int
}

func (t *connTable) get(id uint32) *uconn {
	if int(id) < len(t.slots) {
		return t.slots[id]
	}
	return nil
}

// add gives c a slot and returns its id.
func (t *connTable) add(c *uconn) uint32 {
	t.n++
	if k := len(t.free); k > 0 {
		id := t.free[k-1]
		t.free = t.free[:k-1]
		t.slots[id] = c
		return id
	}
	if len(t.slots) == 0 {
		t.slots = append(t.slots, nil)
	}
	t.slots = append(t.slots, c)
	return uint32(len(t.slots) - 1)
}

func (t *connTable) remove(id uint32) {
	if t.get(id) == nil {
		return
	}
	t.slots[id] = nil
	t.free = append(t.free, id)
	t.n--
}

func (t *connTable) len() int { return t.n }

// each calls fn for every conn in the table.
func (t *connTable) each(fn func(c *uconn)) {
	for _, c := range t.slots {
		if c != nil {
			fn(c)
		}
	}
}
