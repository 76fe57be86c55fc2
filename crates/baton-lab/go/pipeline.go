package main

// The Go peers of the lab's `pipeline` experiment (listed in cases.go): the
// same shapes as crates/baton-lab/src/experiments/pipeline.rs, written as
// "Concurrency in Go" writes its stages (select on the send and on done).

import (
	"runtime"
	"sync"
	"time"
)

const (
	// pipelineItems: integers per round of the unbuffered and buffered cases.
	pipelineItems = 1_000_000
	// fanoutItems: integers per round of the fan-out case.
	fanoutItems = 100_000
	// workRounds: the CPU-bound stage's mixing rounds (as the Rust side).
	workRounds = 256
)

func work(v uint64) uint64 {
	x := v
	for i := 0; i < workRounds; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		x ^= x >> 33
	}
	return x
}

func generate(done <-chan struct{}, n uint64, capacity int) <-chan uint64 {
	out := make(chan uint64, capacity)
	go func() {
		defer close(out)
		for v := uint64(0); v < n; v++ {
			select {
			case out <- v:
			case <-done:
				return
			}
		}
	}()
	return out
}

func square(done <-chan struct{}, in <-chan uint64, capacity int) <-chan uint64 {
	out := make(chan uint64, capacity)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case out <- v * v:
			case <-done:
				return
			}
		}
	}()
	return out
}

func even(done <-chan struct{}, in <-chan uint64, capacity int) <-chan uint64 {
	out := make(chan uint64, capacity)
	go func() {
		defer close(out)
		for v := range in {
			if v%2 != 0 {
				continue
			}
			select {
			case out <- v:
			case <-done:
				return
			}
		}
	}()
	return out
}

// pipelineRounds runs whole rounds of `items` integers until `seconds`
// have passed (at least one); threads = GOMAXPROCS.
func pipelineRounds(threads int, seconds float64, items uint64, round func() uint64) result {
	runtime.GOMAXPROCS(threads)
	var ops uint64
	var sink uint64 // kept in pipelineSink so the rounds are not optimised away
	start := time.Now()
	for ops == 0 || time.Since(start).Seconds() < seconds {
		sink += round()
		ops += items
	}
	pipelineSink += sink
	return result{ops: ops, elapsed: time.Since(start)}
}

// pipelineStages: generate → square → even → sum, channels of `capacity`.
func pipelineStages(capacity int) selfTimed {
	return func(threads int, seconds float64) result {
		return pipelineRounds(threads, seconds, pipelineItems, func() uint64 {
			done := make(chan struct{})
			defer close(done)
			var sum uint64
			for v := range even(done, square(done, generate(done, pipelineItems, capacity), capacity), capacity) {
				sum += v
			}
			return sum
		})
	}
}

// pipelineFanout: generate → work on `threads` goroutines → merge → sum.
func pipelineFanout(threads int, seconds float64) result {
	return pipelineRounds(threads, seconds, fanoutItems, func() uint64 {
		done := make(chan struct{})
		defer close(done)
		in := generate(done, fanoutItems, 0)
		out := make(chan uint64)
		var wg sync.WaitGroup
		wg.Add(threads)
		for w := 0; w < threads; w++ {
			go func() {
				defer wg.Done()
				for v := range in {
					select {
					case out <- work(v):
					case <-done:
						return
					}
				}
			}()
		}
		go func() {
			wg.Wait()
			close(out)
		}()
		var sum uint64
		for v := range out {
			sum += v
		}
		return sum
	})
}

// pipelineSink holds the rounds' sums.
var pipelineSink uint64
