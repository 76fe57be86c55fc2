// Command stream is the source's scenario end to end: a stream-processing
// "core" (here Go) drives messages on 8 goroutines through per-stream state
// that lives outside the Go heap (C memory, as cgo's rules require) and is
// reached only through integer handles. Each message looks its state up by
// handle and updates it; every 16th message also retires one state and
// creates another (remove + insert), as streams open and close.
//
// It runs the same load twice: with baton's HandleMap (through the C ABI,
// package baton/bindings/go/baton) and with the source's first design, one
// Go map behind one sync.RWMutex (the "big old map"), and prints messages
// per second for each.
//
//	cargo build --release -p baton-ffi
//	cd examples/stream && go run . -seconds 2
package main

// #include <stdlib.h>
// #include <stdint.h>
// typedef struct { uint64_t messages; uint64_t last; } stream_state;
import "C"

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"baton/bindings/go/baton"
)

// registry is what the core needs: states by handle.
type registry interface {
	insert(p unsafe.Pointer) uint64
	get(h uint64) unsafe.Pointer
	// remove forgets h and frees its state.
	remove(h uint64)
	close()
}

type batonRegistry struct{ h *baton.Handles }

func newBaton() registry {
	h, err := baton.NewHandlesFree() // states are C.malloc'ed: freed by the registry
	if err != nil {
		panic(err)
	}
	return batonRegistry{h}
}

func (r batonRegistry) insert(p unsafe.Pointer) uint64 {
	id, err := r.h.Insert(p)
	if err != nil {
		panic(err)
	}
	return id
}

func (r batonRegistry) get(h uint64) unsafe.Pointer {
	p, err := r.h.Get(h)
	if err != nil {
		panic(err)
	}
	return p
}

func (r batonRegistry) remove(h uint64) {
	if err := r.h.Delete(h); err != nil {
		panic(err)
	}
}

func (r batonRegistry) close() { r.h.Close() }

// bigOldMap: one map, one RWMutex, one counter (the source's first version).
type bigOldMap struct {
	mu   sync.RWMutex
	next uint64
	m    map[uint64]unsafe.Pointer
}

func newBigOldMap() registry { return &bigOldMap{m: make(map[uint64]unsafe.Pointer)} }

func (r *bigOldMap) insert(p unsafe.Pointer) uint64 {
	r.mu.Lock()
	r.next++
	h := r.next
	r.m[h] = p
	r.mu.Unlock()
	return h
}

func (r *bigOldMap) get(h uint64) unsafe.Pointer {
	r.mu.RLock()
	p := r.m[h]
	r.mu.RUnlock()
	if p == nil {
		panic(fmt.Sprintf("no state for handle %d", h))
	}
	return p
}

func (r *bigOldMap) remove(h uint64) {
	r.mu.Lock()
	p := r.m[h]
	delete(r.m, h)
	r.mu.Unlock()
	C.free(p)
}

func (r *bigOldMap) close() {
	for _, p := range r.m {
		C.free(p)
	}
}

func newState() unsafe.Pointer {
	p := C.calloc(1, C.size_t(unsafe.Sizeof(C.stream_state{})))
	if p == nil {
		panic("calloc failed")
	}
	return p
}

const (
	workers         = 8
	statesPerWorker = 256
	churnEvery      = 16 // every 16th message retires a state and opens one
)

// run drives the load for d and returns messages per second.
func run(reg registry, d time.Duration) float64 {
	defer reg.close()
	var stop atomic.Bool
	var total atomic.Uint64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			handles := make([]uint64, statesPerWorker)
			for i := range handles {
				handles[i] = reg.insert(newState())
			}
			var n uint64
			for !stop.Load() {
				for batch := 0; batch < 64; batch++ {
					slot := n % statesPerWorker
					s := (*C.stream_state)(reg.get(handles[slot]))
					atomic.AddUint64((*uint64)(unsafe.Pointer(&s.messages)), 1)
					atomic.StoreUint64((*uint64)(unsafe.Pointer(&s.last)), n)
					if n%churnEvery == churnEvery-1 {
						reg.remove(handles[slot])
						handles[slot] = reg.insert(newState())
					}
					n++
				}
			}
			for _, h := range handles {
				reg.remove(h)
			}
			total.Add(n)
		}(w)
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return float64(total.Load()) / time.Since(start).Seconds()
}

func main() {
	seconds := flag.Float64("seconds", 2, "how long each variant runs")
	flag.Parse()
	if *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "stream: -seconds must be positive")
		os.Exit(2)
	}
	d := time.Duration(*seconds * float64(time.Second))
	fmt.Printf("stream: %d goroutines x %d states, a state retired and opened every %d messages, %v per variant\n",
		workers, statesPerWorker, churnEvery, d)
	b := run(newBaton(), d)
	fmt.Printf("  baton HandleMap (cgo): %12.0f msgs/s\n", b)
	o := run(newBigOldMap(), d)
	fmt.Printf("  big old map (RWMutex): %12.0f msgs/s\n", o)
	fmt.Printf("  baton / big old map:   %12.2fx\n", b/o)
}
