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
	{"chan", "spsc", "go"}:         chanStream(1024, 1),
	{"chan", "mpmc", "go"}:         chanStream(1024, 4),
	{"chan", "pingpong", "go"}:     chanPingPong,
	{"chan", "select", "go"}:       chanSelect4,
}

// chanStream: `producers` goroutines send into one channel of capacity
// `capacity` nonstop (untimed; they die with the process), each worker
// goroutine receives: one op = one message received.
func chanStream(capacity, producers int) bench {
	return func(int) func(int) func(int) {
		ch := make(chan uint64, capacity)
		for p := 0; p < producers; p++ {
			go func() {
				for v := uint64(1); ; v++ {
					ch <- v
				}
			}()
		}
		return func(int) func(int) {
			return func(n int) {
				for i := 0; i < n; i++ {
					<-ch
				}
			}
		}
	}
}

// chanPingPong: one op = a round trip over two unbuffered channels with an
// echo goroutine.
func chanPingPong(int) func(int) func(int) {
	ping := make(chan uint64)
	pong := make(chan uint64)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				ping <- 1
				<-pong
			}
		}
	}
}

// chanSelect4: four producers, each on its own channel of capacity 1024;
// one op = one message received by a select over the four.
func chanSelect4(int) func(int) func(int) {
	var chs [4]chan uint64
	for i := range chs {
		chs[i] = make(chan uint64, 1024)
		go func(ch chan uint64) {
			for v := uint64(1); ; v++ {
				ch <- v
			}
		}(chs[i])
	}
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				select {
				case <-chs[0]:
				case <-chs[1]:
				case <-chs[2]:
				case <-chs[3]:
				}
			}
		}
	}
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
