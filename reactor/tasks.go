package reactor

import (
	"sync"
	"sync/atomic"
)

// taskQueue is how other goroutines reach a loop: a mutex-guarded slice
// swapped out whole by the loop, plus one coalesced poller wakeup.
type taskQueue struct {
	mu      sync.Mutex
	tasks   []func()
	spare   []func()
	closed  bool
	pending atomic.Bool // lets the loop skip the lock when nothing is queued
}

// push queues task; it reports false once the loop has exited.
func (q *taskQueue) push(task func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.tasks = append(q.tasks, task)
	q.pending.Store(true)
	q.mu.Unlock()
	return true
}

// run runs the queued tasks, including any they queue in turn, up to a
// bound so that a task that re-queues itself cannot starve the poller.
func (q *taskQueue) run() {
	for round := 0; round < 4 && q.pending.Load(); round++ {
		q.mu.Lock()
		tasks := q.tasks
		q.tasks, q.spare = q.spare[:0], nil
		q.pending.Store(false)
		q.mu.Unlock()
		for i, t := range tasks {
			t()
			tasks[i] = nil
		}
		q.mu.Lock()
		if q.spare == nil {
			q.spare = tasks[:0]
		}
		q.mu.Unlock()
	}
}

// close runs what is left and refuses new tasks.
func (q *taskQueue) close() {
	q.pending.Store(true)
	q.run()
	q.mu.Lock()
	q.closed = true
	tasks := q.tasks
	q.tasks = nil
	q.mu.Unlock()
	for _, t := range tasks {
		t()
	}
}
