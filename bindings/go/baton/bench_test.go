package baton

// Benchmarks from the Go side (issue 16): handle registries through cgo
// against Go's own answers, and byte-channel round trips. Run with
//
//	cargo build --release -p baton-ffi
//	cd bindings/go && go test -run '^$' -bench . ./baton
//
// Every handles benchmark runs one insert/get/remove cycle per op, split
// over 1, 2 or 8 goroutines; ns/op is per cycle over all goroutines
// (lower is better; ops/s = 1e9 / ns/op).

import (
	"fmt"
	"os"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"baton/bindings/go/internal/cmem"
)

// registry is one implementation of insert/get/remove by integer handle.
type registry interface {
	insert(p unsafe.Pointer) uint64
	get(h uint64) unsafe.Pointer
	remove(h uint64)
}

type batonRegistry struct{ h *Handles }

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
	if _, err := r.h.Remove(h); err != nil {
		panic(err)
	}
}

// cgoHandleRegistry is runtime/cgo.Handle: one sync.Map and an atomic
// counter inside the runtime.
type cgoHandleRegistry struct{}

func (cgoHandleRegistry) insert(p unsafe.Pointer) uint64 { return uint64(cgo.NewHandle(p)) }
func (cgoHandleRegistry) get(h uint64) unsafe.Pointer {
	return cgo.Handle(h).Value().(unsafe.Pointer)
}
func (cgoHandleRegistry) remove(h uint64) { cgo.Handle(h).Delete() }

// bigOldMap is the source's first design: one map behind one RWMutex.
type bigOldMap struct {
	mu   sync.RWMutex
	next uint64
	m    map[uint64]unsafe.Pointer
}

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
	return p
}
func (r *bigOldMap) remove(h uint64) {
	r.mu.Lock()
	delete(r.m, h)
	r.mu.Unlock()
}

// shardedMap is the source's fix: 64 maps, each behind its own RWMutex,
// picked by handle; handles from one atomic counter.
type shardedMap struct {
	next   atomic.Uint64
	shards [64]struct {
		mu sync.RWMutex
		m  map[uint64]unsafe.Pointer
		_  [40]byte // keep shards on separate cache lines
	}
}

func newShardedMap() *shardedMap {
	s := &shardedMap{}
	for i := range s.shards {
		s.shards[i].m = make(map[uint64]unsafe.Pointer)
	}
	return s
}

func (r *shardedMap) insert(p unsafe.Pointer) uint64 {
	h := r.next.Add(1)
	s := &r.shards[h%64]
	s.mu.Lock()
	s.m[h] = p
	s.mu.Unlock()
	return h
}
func (r *shardedMap) get(h uint64) unsafe.Pointer {
	s := &r.shards[h%64]
	s.mu.RLock()
	p := s.m[h]
	s.mu.RUnlock()
	return p
}
func (r *shardedMap) remove(h uint64) {
	s := &r.shards[h%64]
	s.mu.Lock()
	delete(s.m, h)
	s.mu.Unlock()
}

// parallel runs n ops split over g goroutines.
func parallel(b *testing.B, g int, op func()) {
	var wg sync.WaitGroup
	per := b.N / g
	b.ResetTimer()
	for i := 0; i < g; i++ {
		n := per
		if i == 0 {
			n += b.N % g
		}
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			for j := 0; j < n; j++ {
				op()
			}
		}(n)
	}
	wg.Wait()
}

// goroutineCounts are the 1, 2 and 8 goroutines, or the counts
// in $BATON_FFI_GOROUTINES ("1,4,16"; the lab's ffi experiment sets it).
var goroutineCounts = func() []int {
	env := os.Getenv("BATON_FFI_GOROUTINES")
	if env == "" {
		return []int{1, 2, 8}
	}
	var counts []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			panic(fmt.Sprintf("BATON_FFI_GOROUTINES=%q: %q is not a positive count", env, f))
		}
		counts = append(counts, n)
	}
	return counts
}()

func BenchmarkHandles(b *testing.B) {
	value := cmem.Int64(1)
	defer cmem.Free(value)
	impls := []struct {
		name string
		make func() (registry, func())
	}{
		{"baton-cgo", func() (registry, func()) {
			h, err := NewHandles()
			if err != nil {
				b.Fatal(err)
			}
			return batonRegistry{h}, func() { h.Close() }
		}},
		{"cgo.Handle", func() (registry, func()) { return cgoHandleRegistry{}, func() {} }},
		{"big-old-map", func() (registry, func()) {
			return &bigOldMap{m: make(map[uint64]unsafe.Pointer)}, func() {}
		}},
		{"sharded-64", func() (registry, func()) { return newShardedMap(), func() {} }},
	}
	for _, impl := range impls {
		for _, g := range goroutineCounts {
			b.Run(fmt.Sprintf("%s/g%d", impl.name, g), func(b *testing.B) {
				r, done := impl.make()
				defer done()
				parallel(b, g, func() {
					h := r.insert(value)
					if r.get(h) != value {
						panic("wrong value")
					}
					r.remove(h)
				})
			})
		}
	}
}

// BenchmarkCgoCall is the cost of crossing into C and back, doing
// nothing: a baton handle cycle makes three such crossings.
func BenchmarkCgoCall(b *testing.B) {
	for _, g := range goroutineCounts {
		b.Run(fmt.Sprintf("g%d", g), func(b *testing.B) {
			parallel(b, g, cgoNoop)
		})
	}
}

// BenchmarkChanRoundTrip: one 8-byte message to a partner goroutine and
// back, over two one-slot channels: baton's through cgo vs Go's own.
func BenchmarkChanRoundTrip(b *testing.B) {
	msg := []byte("8 bytes!")
	b.Run("baton-cgo", func(b *testing.B) {
		ping, _ := NewChan(1)
		pong, _ := NewChan(1)
		defer ping.Free()
		defer pong.Free()
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 8)
			for {
				n, err := ping.RecvInto(buf)
				if err != nil {
					return
				}
				pong.Send(buf[:n])
			}
		}()
		buf := make([]byte, 8)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ping.Send(msg)
			if _, err := pong.RecvInto(buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		ping.Close()
		<-done
	})
	b.Run("go-chan", func(b *testing.B) {
		ping := make(chan []byte, 1)
		pong := make(chan []byte, 1)
		go func() {
			for m := range ping {
				c := make([]byte, len(m)) // a copy, as the baton channel makes
				copy(c, m)
				pong <- c
			}
		}()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c := make([]byte, len(msg))
			copy(c, msg)
			ping <- c
			<-pong
		}
		b.StopTimer()
		close(ping)
	})
}
