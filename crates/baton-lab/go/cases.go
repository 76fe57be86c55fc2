package main

import (
	"sync"
	"sync/atomic"
)

// key names one Go implementation of one lab case.
type key struct{ experiment, caseName, impl string }

// cases is every Go peer the harness can measure. One line per peer; the lab
// names the same (experiment, case, impl) in its registry.
var cases = map[key]bench{
	{"idgen", "next", "go"}:        sharedAtomicAdd,
	{"idgen", "next", "go-mutex"}:  mutexCounter,
	{"counter", "increment", "go"}: sharedAtomicAdd,
}

// sharedCounter is one uint64 on its own cache lines, so that only the
// goroutines adding to it contend for its line.
type sharedCounter struct {
	_ [128]byte
	n uint64
	_ [128]byte
}

// sharedAtomicAdd: every goroutine does atomic.AddUint64 on one shared
// counter (Go's answer to an id generator or a hot statistics counter).
func sharedAtomicAdd(int) func(int) func(int) {
	c := new(sharedCounter)
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				atomic.AddUint64(&c.n, 1)
			}
		}
	}
}

// mutexCounter: a counter guarded by sync.Mutex, locked for each add.
func mutexCounter(int) func(int) func(int) {
	var c struct {
		_  [128]byte
		mu sync.Mutex
		n  uint64
		_  [128]byte
	}
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				c.mu.Lock()
				c.n++
				c.mu.Unlock()
			}
		}
	}
}
