//go:build unix

package fdconn

import (
	"errors"
	"time"
)

// The idle timeout lives here whole; the loop only keeps the entries the
// conn asks for (Owner.ArmIdle) in its timer heap and hands each back when
// it comes due (IdleDue).
//
// Re-arming per message must cost nothing, so an entry is not moved when
// the conn is active: the live entry comes due at the old deadline, finds
// the conn active since, and re-arms itself from the last activity. A
// shorter timeout needs an earlier entry, which becomes the live one; the
// older entries turn stale and are dropped as they come due. Generations
// tell the live entry from stale ones.

// maxIdleTimers bounds the timer entries one conn can have at once (stale
// ones from a handler shrinking its timeout, or turning it off and on, over
// and over). Past it, a new timeout waits for an entry to come due: the
// live one, or a stale one that becomes live (see IdleDue).
const maxIdleTimers = 64

// LastActive is the loop clock (monotonic ns) of the last read or write.
func (c *FD) LastActive() int64 { return c.lastActive }

// IdleTimeout is the conn's idle timeout (0: none).
func (c *FD) IdleTimeout() time.Duration { return c.idleTimeout }

// SetIdleTimeout closes the conn after d without traffic; 0 disables it.
func (c *FD) SetIdleTimeout(d time.Duration) error {
	if d < 0 {
		return errors.New("conn: negative idle timeout")
	}
	old := c.idleTimeout
	c.idleTimeout = d
	c.lastActive = c.shared.Now
	if d == 0 {
		c.idleLive = false // an entry still armed is stale now, and lapses
		return nil
	}
	if !c.registered || c.IsClosed() {
		return nil
	}
	// The live entry is due no later than the last activity plus the old
	// timeout, and re-arms itself from there, so it serves a timeout that
	// did not shrink: re-arming per message adds no entry. A shorter
	// timeout needs an earlier entry, which becomes the live one.
	if (!c.idleLive || d < old) && c.idleTimers < maxIdleTimers {
		c.idleGen++
		c.armIdle(c.lastActive + int64(d))
	}
	return nil
}

// armIdle asks the loop for the live entry, of the current generation.
func (c *FD) armIdle(when int64) {
	c.idleTimers++
	c.idleLive = true
	c.owner().ArmIdle(c, when, c.idleGen)
}

// DropIdle is the loop's call when it sweeps its timers: it reports
// whether the entry of generation gen would do nothing when due (the
// conn closed, its timeout is off, or a later entry is live), and if so
// counts it gone, so that the loop can drop it now.
func (c *FD) DropIdle(gen uint8) bool {
	live := gen == c.idleGen && c.idleLive
	if !c.IsClosed() && c.idleTimeout > 0 && (live || !c.idleLive) {
		return false
	}
	c.idleTimers--
	if live {
		c.idleLive = false
	}
	return true
}

// IdleDue is the loop's call when an entry of generation gen comes due at
// now (the loop clock). The entry is dropped if stale, re-armed from the
// last activity if the conn has been active since, and otherwise the conn
// has been idle too long: IdleDue reports true and the loop closes it with
// its idle-timeout error.
func (c *FD) IdleDue(gen uint8, now int64) (expired bool) {
	c.idleTimers--
	live := gen == c.idleGen && c.idleLive
	if live {
		c.idleLive = false
	}
	d := c.idleTimeout
	if c.IsClosed() || d <= 0 {
		return false
	}
	if !live && c.idleLive {
		return false // stale: a later timeout armed the live entry
	}
	// The live entry, or a stale one with none live (the entry cap was
	// reached): this one serves the timeout from now on.
	if deadline := c.lastActive + int64(d); deadline > now {
		if !live {
			c.idleGen++
		}
		c.armIdle(deadline)
		return false
	}
	// A lingering conn was closed by the handler with its output out:
	// only the peer's EOF is awaited, and the linger timer bounds that.
	// Idleness now is no error of the conn's.
	return !c.Lingering()
}
