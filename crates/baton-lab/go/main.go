// Command harness runs ONE measurement of a Go peer for baton-lab and prints
// it as one JSON row on stdout, in the lab's row format plus the raw
// "ops" and "elapsed_ns" it was computed from:
//
//	harness -experiment idgen -case next -impl go -threads 8 -seconds 0.2
//	{"experiment":"idgen","case":"next","impl":"go","threads":8,...}
//
// The method is the lab's own (crates/baton-lab/src/runner/mod.rs): fresh state
// built before timing, `threads` goroutines released together, each running
// batches of ops and checking a stop flag only between batches, ops summed
// over elapsed time from the first goroutine's start to the last one's end.
// Goroutines run on GOMAXPROCS threads (the core count by default), so
// "threads" here means goroutines: Go's scheduler multiplexes them, which is
// what a Go program would do.
//
// Adding a case: write a function returning a bench (see cases.go) and add a
// line to the `cases` table there. A case that must measure itself (the
// scheduler cases in goroutines.go: spawning, switching, memory) is a
// `selfTimed` function with a line in the `custom` table instead; a server
// measured from outside (the http cases, loaded by wrk) has a line in the
// `servers` table and listens on -addr until killed. Those two
// tables in cases.go are the harness's only list of cases; each key is the
// lab row it measures (experiment, case, impl), which the lab's registry
// declares as a Go implementation, and a lab test (cargo test -p baton-lab)
// fails unless the two sides name the same keys. Stdlib only; no network
// needed to build.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// batch is how many ops a goroutine runs between looks at the stop flag, so
// that the look costs nothing measurable (the lab uses the same number).
const batch = 64

// maxSamples is how many op latencies a goroutine keeps with -latency (the
// lab's MAX_SAMPLES_PER_WORKER); later batches are not sampled.
const maxSamples = 1 << 16

// sampleLatency is -latency, for the self-timed cases that sample (pingPong).
var sampleLatency bool

// A bench builds fresh state for one measurement (untimed) and returns, per
// goroutine, a function that runs n ops. Running n ops per call keeps the
// indirect call out of the per-op cost.
type bench func(threads int) func(worker int) func(n int)

// row is one measurement in the lab's JSON row format.
type row struct {
	Experiment string  `json:"experiment"`
	Case       string  `json:"case"`
	Impl       string  `json:"impl"`
	Threads    int     `json:"threads"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	NsPerOp    float64 `json:"ns_per_op"`
	Ops        uint64  `json:"ops"`
	ElapsedNs  int64   `json:"elapsed_ns"`
	RssBytes   uint64  `json:"rss_bytes,omitempty"`
	P50Ns      float64 `json:"p50_ns,omitempty"`
	P99Ns      float64 `json:"p99_ns,omitempty"`
}

// result is what a case measured; samples are op latencies in ns (-latency).
type result struct {
	ops      uint64
	elapsed  time.Duration
	rssBytes uint64
	samples  []int64
}

// percentile is the q quantile of sorted samples (nearest rank), 0 if none.
func percentile(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*q + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return float64(sorted[rank-1])
}

// A selfTimed case runs for about `seconds` with `threads` as it defines
// it, and says what it did.
type selfTimed func(threads int, seconds float64) result

// timed calls round until `seconds` have passed (at least once) and sums
// the ops the rounds report.
func timed(seconds float64, round func() uint64) result {
	limit := time.Duration(seconds * float64(time.Second))
	start := time.Now()
	var ops uint64
	for {
		ops += round()
		if e := time.Since(start); e >= limit {
			return result{ops: ops, elapsed: e}
		}
	}
}

// padded keeps the stop flag on its own cache lines (128 bytes: x86-64's
// prefetcher pairs lines), so workers reading it never share with a writer.
type padded struct {
	_    [128]byte
	stop atomic.Bool
	_    [128]byte
}

// measure runs bench b the lab's way; with latency, each goroutine also
// times the first op of every batch (two clock reads added to one op in
// batch, as the lab's runner does).
func measure(b bench, threads int, seconds float64, latency bool) result {
	mk := b(threads)
	samples := make([][]int64, threads)
	var flag padded
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ops := make([]uint64, threads)
	begins := make([]time.Time, threads)
	ends := make([]time.Time, threads)
	ready.Add(threads)
	done.Add(threads)
	for w := 0; w < threads; w++ {
		go func(w int) {
			defer done.Done()
			run := mk(w)
			ready.Done()
			<-start
			begins[w] = time.Now()
			var n uint64
			for !flag.stop.Load() {
				if latency && len(samples[w]) < maxSamples {
					t := time.Now()
					run(1)
					samples[w] = append(samples[w], time.Since(t).Nanoseconds())
					run(batch - 1)
				} else {
					run(batch)
				}
				n += batch
			}
			ends[w] = time.Now()
			ops[w] = n
		}(w)
	}
	ready.Wait()
	close(start)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	flag.stop.Store(true)
	done.Wait()
	first, last := begins[0], ends[0]
	var total uint64
	for w := 0; w < threads; w++ {
		if begins[w].Before(first) {
			first = begins[w]
		}
		if ends[w].After(last) {
			last = ends[w]
		}
		total += ops[w]
	}
	var all []int64
	for _, s := range samples {
		all = append(all, s...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return result{ops: total, elapsed: last.Sub(first), samples: all}
}

func main() {
	experiment := flag.String("experiment", "", "experiment name, e.g. idgen")
	caseName := flag.String("case", "", "case name, e.g. next")
	impl := flag.String("impl", "go", "implementation within the case, e.g. go or go-mutex")
	threads := flag.Int("threads", 1, "worker goroutines")
	seconds := flag.Float64("seconds", 0.2, "measurement length in seconds")
	list := flag.Bool("list", false, "list the cases this harness knows and exit")
	latency := flag.Bool("latency", false, "also sample op latencies (p50_ns, p99_ns; harness-timed cases and pingPong)")
	addr := flag.String("addr", "127.0.0.1:0", "where a server case listens")
	echoServer := flag.String("echo-server", "", "internal: be the echo case's server on this address")
	flag.Parse()
	sampleLatency = *latency

	if *list {
		keys := make([]string, 0, len(cases))
		for k := range cases {
			keys = append(keys, k.experiment+"/"+k.caseName+"/"+k.impl)
		}
		for k := range custom {
			keys = append(keys, k.experiment+"/"+k.caseName+"/"+k.impl)
		}
		for k := range servers {
			keys = append(keys, k.experiment+"/"+k.caseName+"/"+k.impl)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Println(k)
		}
		return
	}
	if *echoServer != "" {
		if err := echoServe(*echoServer); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
		return
	}
	k := key{*experiment, *caseName, *impl}
	if serve, isServer := servers[k]; isServer {
		if err := serve(*addr); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
		return
	}
	b, ok := cases[k]
	self, isCustom := custom[k]
	if !ok && !isCustom {
		fmt.Fprintf(os.Stderr, "harness: no case %s/%s/%s (see -list)\n", *experiment, *caseName, *impl)
		os.Exit(2)
	}
	if *threads < 1 || *seconds <= 0 {
		fmt.Fprintln(os.Stderr, "harness: -threads must be >= 1 and -seconds > 0")
		os.Exit(2)
	}
	var r result
	if isCustom {
		r = self(*threads, *seconds)
	} else {
		r = measure(b, *threads, *seconds, *latency)
	}
	ops, elapsed := r.ops, r.elapsed
	perSec := float64(ops) / elapsed.Seconds()
	out := row{
		Experiment: *experiment,
		Case:       *caseName,
		Impl:       *impl,
		Threads:    *threads,
		OpsPerSec:  perSec,
		NsPerOp:    1e9 / perSec,
		Ops:        ops,
		ElapsedNs:  elapsed.Nanoseconds(),
		RssBytes:   r.rssBytes,
		P50Ns:      percentile(r.samples, 0.50),
		P99Ns:      percentile(r.samples, 0.99),
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		os.Exit(1)
	}
}
