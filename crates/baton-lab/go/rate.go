package main

// The Go peers of the lab's `rate` experiment (listed in cases.go): the
// same shapes as crates/baton-lab/src/experiments/rate.rs, on x/time/rate
// (copied into xrate/ from Debian's golang-golang-x-time-dev).

import (
	"sync"

	"batonlab/xrate"
)

const (
	// rateEvents is the limit (events a second): every call is granted.
	rateEvents = 1_000_000_000
	// rateBurst: enough that the bucket never runs dry.
	rateBurst = 1_000_000
	// rateKeys is how many keys the keyed case walks.
	rateKeys = 10_000
)

// rateAllow: one op = Allow() on one limiter shared by every worker.
func rateAllow(int) func(int) func(int) {
	lim := xrate.NewLimiter(rateEvents, rateBurst)
	return func(int) func(int) {
		return func(n int) {
			for i := 0; i < n; i++ {
				lim.Allow()
			}
		}
	}
}

// rateKeyed: one op = Allow() on the limiter of the next key of the
// worker's walk, found in a sync.Map (every key created before the timing).
func rateKeyed(int) func(int) func(int) {
	var m sync.Map
	for k := uint64(0); k < rateKeys; k++ {
		m.Store(k, xrate.NewLimiter(rateEvents, rateBurst))
	}
	return func(w int) func(int) {
		stride := uint64(2*w + 7919)
		k := uint64(w*1237) % rateKeys
		return func(n int) {
			for i := 0; i < n; i++ {
				k = (k + stride) % rateKeys
				v, _ := m.Load(k)
				v.(*xrate.Limiter).Allow()
			}
		}
	}
}
