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
	{"rwlock", "read100", "go"}:    rwmutexRecord(0),
	{"rwlock", "read99", "go"}:     rwmutexRecord(100),
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

// rwmutexRecord: a small record guarded by sync.RWMutex; every
// writeEvery-th op of each goroutine takes the write lock and updates it
// (0: reads only), as in the lab's Rust rwlock cases.
func rwmutexRecord(writeEvery int) bench {
	return func(int) func(int) func(int) {
		var r struct {
			_       [128]byte
			mu      sync.RWMutex
			version uint64
			fields  [4]uint64
			_       [128]byte
		}
		return func(worker int) func(int) {
			count := worker * 37
			return func(n int) {
				var sink uint64
				for i := 0; i < n; i++ {
					count++
					if writeEvery != 0 && count%writeEvery == 0 {
						r.mu.Lock()
						r.version++
						r.fields[r.version&3] = r.version
						r.mu.Unlock()
					} else {
						r.mu.RLock()
						sink ^= r.version ^ r.fields[r.version&3]
						r.mu.RUnlock()
					}
				}
				atomic.AddUint64(&rwmutexSink, sink)
			}
		}
	}
}

// rwmutexSink keeps the readers' loads from being optimised away.
var rwmutexSink uint64
