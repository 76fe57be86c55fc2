package main

import (
	"sync"
	"sync/atomic"
)

// key names one Go implementation of one lab case.
type key struct{ experiment, caseName, impl string }

// cases and custom (below) are every Go peer the harness can measure, and the
// only list of them: one line per peer, keyed by the lab row it measures. The
// lab's registry (crates/baton-lab/src/experiments/) declares the same keys
// as its Go implementations; a lab test fails unless both sides name the
// same set. Keep each key on one line, written `{"experiment", "case",
// "impl"}:`, as the test reads them.

// cases is the peers run by the harness's own timing loop (measure in main.go).
var cases = map[key]bench{
	{"idgen", "next", "go"}:            sharedAtomicAdd,
	{"idgen", "next", "go-mutex"}:      mutexCounter,
	{"counter", "increment", "go"}:     sharedAtomicAdd,
	{"rwlock", "read100", "go"}:        rwmutexRecord(0),
	{"rwlock", "read99", "go"}:         rwmutexRecord(100),
	{"handles", "cycle", "go"}:         handleCycle,
	{"chan", "spsc", "go"}:             chanStream(1024, 1),
	{"chan", "mpmc", "go"}:             chanStream(1024, 4),
	{"chan", "pingpong", "go"}:         chanPingPong,
	{"chan", "select", "go"}:           chanSelect4,
	{"context", "derive-cancel", "go"}: contextDeriveCancel,
	{"context", "check", "go"}:         contextCheck,
	{"rate", "allow", "go"}:            rateAllow,
	{"rate", "keyed", "go"}:            rateKeyed,
}

// custom is the peers that time themselves (the scheduler cases in
// goroutines.go: spawning, switching, memory), where "threads" means what
// the case says.
var custom = map[key]selfTimed{
	{"goroutines", "spawn-join", "go"}:  spawnJoin,
	{"goroutines", "pingpong", "go"}:    pingPong,
	{"goroutines", "ring", "go"}:        ring,
	{"goroutines", "idle-memory", "go"}: idleMemory,
	{"context", "fanout", "go"}:         contextFanout,
	{"pipeline", "unbuffered", "go"}:    pipelineStages(0),
	{"pipeline", "buffered", "go"}:      pipelineStages(1024),
	{"pipeline", "fan-out", "go"}:       pipelineFanout,
	{"echo", "roundtrip", "go"}:         echoRoundTrip,
}

// servers is the peers that are servers measured from outside (the lab runs
// wrk against them, or holds idle connections to them and reads their
// resident set): each listens on -addr, prints "listening on ..." and serves
// until the process is killed.
var servers = map[key]func(addr string) error{
	{"http", "pinned", "go"}:     httpPlaintext,
	{"http", "both-cores", "go"}: httpPlaintext,
	{"conns", "idle", "go"}:      echoServe,
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

// handleCycle: each goroutine stores an object under a fresh id, looks it
// up 10 times and deletes it. Go's own registry for this, runtime/cgo.Handle,
// is a sync.Map plus an atomic counter; the harness is built with
// CGO_ENABLED=0, where runtime/cgo cannot be imported, so this is the same
// design written out: sync.Map keyed by an atomic id.
func handleCycle(int) func(int) func(int) {
	var m sync.Map
	var next uint64
	return func(int) func(int) {
		return func(n int) {
			var sink uint64
			for i := 0; i < n; i++ {
				id := atomic.AddUint64(&next, 1)
				m.Store(id, &handleObj{v: id})
				for j := 0; j < 10; j++ {
					v, _ := m.Load(id)
					sink += v.(*handleObj).v
				}
				m.Delete(id)
			}
			atomic.AddUint64(&rwmutexSink, sink)
		}
	}
}

// handleObj is the object a handle names.
type handleObj struct{ v uint64 }
