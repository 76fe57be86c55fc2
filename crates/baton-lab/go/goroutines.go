package main

// The Go peers of the lab's `goroutines` experiment (listed in the `custom`
// table in cases.go). Each measures itself (see `timed` in main.go): these cases are about the scheduler, so
// "threads" is GOMAXPROCS (the number of Ps), except in idle-memory, where
// it is the number of idle goroutines.
//
// The shapes match the lab's Rust implementations
// (crates/baton-lab/src/experiments/goroutines/): same wave size, same ring
// size, same way of counting ops.

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// wave is how many goroutines spawn-join starts before joining them all.
const wave = 10_000

// ringSize is the number of goroutines the ring case passes a token around.
const ringSize = 10_000

// spawnJoin: one op = one goroutine started (doing a trivial job: storing
// its index) and waited for; waves of `wave`, joined with a WaitGroup.
func spawnJoin(threads int, seconds float64) result {
	runtime.GOMAXPROCS(threads)
	out := make([]int, wave)
	var wg sync.WaitGroup
	return timed(seconds, func() uint64 {
		wg.Add(wave)
		for i := 0; i < wave; i++ {
			go func(i int) {
				out[i] = i
				wg.Done()
			}(i)
		}
		wg.Wait()
		return wave
	})
}

// pingPong: one op = one round trip of a token between two goroutines over
// unbuffered channels (Go's idiom; the woken goroutine runs next on the
// waker's P).
func pingPong(threads int, seconds float64) result {
	runtime.GOMAXPROCS(threads)
	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	var samples []int64
	r := timed(seconds, func() uint64 {
		for i := 0; i < 256; i++ {
			// With -latency, one round trip in 16 is timed, as the lab's
			// own pingpong rows do (timed_trips in goroutines.rs).
			if sampleLatency && i%16 == 0 && len(samples) < maxSamples {
				t := time.Now()
				ping <- i
				<-pong
				samples = append(samples, time.Since(t).Nanoseconds())
				continue
			}
			ping <- i
			<-pong
		}
		return 256
	})
	close(ping)
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	r.samples = samples
	return r
}

// ring: one op = one hop of a token around ringSize goroutines, each
// receiving on its own unbuffered channel and sending on the next one's.
func ring(threads int, seconds float64) result {
	runtime.GOMAXPROCS(threads)
	chans := make([]chan int, ringSize)
	for i := range chans {
		chans[i] = make(chan int)
	}
	var done sync.WaitGroup
	done.Add(ringSize - 1)
	for i := 1; i < ringSize; i++ {
		go func(in, out chan int) {
			defer done.Done()
			for v := range in {
				out <- v
			}
			close(out)
		}(chans[i], chans[(i+1)%ringSize])
	}
	// This goroutine is member 0: it sends to 1 and receives from ringSize-1.
	first, last := chans[1], chans[0]
	// One lap untimed, so every member has started, as in the Rust
	// implementations (the case measures hops, not goroutine starts).
	first <- 1
	<-last
	r := timed(seconds, func() uint64 {
		first <- 1
		<-last
		return ringSize
	})
	close(first)
	for range last {
	}
	done.Wait()
	return r
}

// idleMemory: starts `count` goroutines that block on a channel, and
// reports the growth of the resident set per goroutine (one op = one
// goroutine started until it is blocked).
func idleMemory(count int, _ float64) result {
	runtime.GC()
	before := rss()
	gate := make(chan struct{})
	var parked, done sync.WaitGroup
	parked.Add(count)
	done.Add(count)
	start := time.Now()
	for i := 0; i < count; i++ {
		go func() {
			parked.Done()
			<-gate
			done.Done()
		}()
	}
	parked.Wait()
	elapsed := time.Since(start)
	// Let the last ones reach their receive.
	time.Sleep(20 * time.Millisecond)
	after := rss()
	close(gate)
	done.Wait()
	per := uint64(0)
	if after > before {
		per = (after - before) / uint64(count)
	}
	return result{ops: uint64(count), elapsed: elapsed, rssBytes: per}
}

// rss is the process's resident set in bytes (/proc/self/statm).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}
