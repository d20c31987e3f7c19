package jobs

import "sync"

// Watch tells waiters when a job changed: the tracker reports each job it
// settles and the archiver each copy it keeps. It only wakes people up;
// what changed is read from the store, so a missed or extra wake-up costs
// one read, never a wrong answer. Waiting holds no database connection.
type Watch struct {
	mu      sync.Mutex
	waiters map[int64][]chan struct{}
}

// NewWatch returns an empty Watch.
func NewWatch() *Watch { return &Watch{waiters: map[int64][]chan struct{}{}} }

// Changed wakes everyone waiting on job id. A nil Watch does nothing.
func (w *Watch) Changed(id int64) {
	if w == nil {
		return
	}
	w.mu.Lock()
	chs := w.waiters[id]
	delete(w.waiters, id)
	w.mu.Unlock()
	for _, ch := range chs {
		close(ch)
	}
}

// Wait returns a channel closed at job id's next change, and a function
// to call when no longer waiting (it forgets the channel). Subscribe before
// reading the job, so a change between the read and the wait is not
// missed.
func (w *Watch) Wait(id int64) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	w.waiters[id] = append(w.waiters[id], ch)
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		list := w.waiters[id]
		for i, c := range list {
			if c == ch {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(w.waiters, id)
		} else {
			w.waiters[id] = list
		}
	}
}
