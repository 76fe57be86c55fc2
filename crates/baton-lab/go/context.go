package main

// The Go peers of the lab's `context` experiment (listed in cases.go): the
// same shapes as crates/baton-lab/src/experiments/context.rs.

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// fanout is how many goroutines wait on one context in the fanout case.
const fanout = 10_000

// contextDeriveCancel: one op = derive a cancellable child of one shared
// live parent (context.WithCancel) and cancel it.
func contextDeriveCancel(int) func(int) func(int) {
	parent, cancel := context.WithCancel(context.Background())
	keep(cancel)
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				_, cancel := context.WithCancel(parent)
				cancel()
			}
		}
	}
}

// contextCheck: one op = ctx.Err() on a live cancellable context.
func contextCheck(int) func(int) func(int) {
	ctx, cancel := context.WithCancel(context.Background())
	keep(cancel)
	return func(int) func(int) {
		return func(n int) {
			var err error
			for i := 0; i < n; i++ {
				err = ctx.Err()
			}
			if err != nil {
				panic("a live context reported an error")
			}
		}
	}
}

// contextFanout: rounds of `fanout` goroutines blocked in <-ctx.Done(); one
// op = one goroutine woken, timed from the cancel to the last wake-up (the
// spawning, parking and exits are untimed: a woken goroutine counts itself,
// then waits to be released). threads = GOMAXPROCS.
func contextFanout(threads int, seconds float64) result {
	runtime.GOMAXPROCS(threads)
	var timed time.Duration
	var ops uint64
	start := time.Now()
	for ops == 0 || time.Since(start).Seconds() < seconds {
		ctx, cancel := context.WithCancel(context.Background())
		var started, woke, exited sync.WaitGroup
		release := make(chan struct{})
		started.Add(fanout)
		woke.Add(fanout)
		exited.Add(fanout)
		for i := 0; i < fanout; i++ {
			go func() {
				started.Done()
				<-ctx.Done()
				woke.Done()
				<-release
				exited.Done()
			}()
		}
		started.Wait()
		// Let the last ones reach their park (baton's side does the same).
		time.Sleep(time.Millisecond)
		t0 := time.Now()
		cancel()
		woke.Wait()
		timed += time.Since(t0)
		ops += fanout
		close(release)
		exited.Wait()
	}
	return result{ops: ops, elapsed: timed}
}

// kept holds the parents' cancel functions for the life of the process
// (the parents stay live while the cases run).
var kept []context.CancelFunc

func keep(cancel context.CancelFunc) { kept = append(kept, cancel) }
