package main

// The Go peer of the lab's `echo` experiment (listed in cases.go): the same
// shape as crates/baton-lab/src/experiments/echo.rs. threads = connections:
// that many client goroutines, each with its own server goroutine, doing
// 64-byte round trips over loopback TCP (Go sets TCP_NODELAY by default).

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// echoMsg is the bytes per message.
const echoMsg = 64

// echoRoundTrip: one op = one 64-byte write and the 64-byte echo read back;
// connecting is untimed. Both ends are in this process: 2 descriptors per
// connection; RLIMIT_NOFILE is raised to hold them where the process may,
// or the case fails saying so.
func echoRoundTrip(conns int, seconds float64) result {
	need := uint64(2*conns + 64)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < need {
		// Go raised the soft limit to the hard one at start; root may
		// raise the hard one too (as the lab's Rust rows do).
		raised := syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			fmt.Fprintf(os.Stderr, "%d connections need %d descriptors; RLIMIT_NOFILE is %d (hard %d) and could not be raised (%v): skipped\n",
				conns, need, lim.Cur, lim.Max, err)
			os.Exit(1)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, echoMsg)
				for {
					if _, err := io.ReadFull(c, buf); err != nil {
						return
					}
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	addr := ln.Addr().String()
	var stop atomic.Bool
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	counts := make([]uint64, conns)
	errs := make(chan error, conns)
	ready.Add(conns)
	done.Add(conns)
	for i := 0; i < conns; i++ {
		go func(i int) {
			defer done.Done()
			c, err := net.Dial("tcp", addr)
			ready.Done()
			<-start
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			buf := make([]byte, echoMsg)
			var n uint64
			for !stop.Load() {
				if _, err := c.Write(buf); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
				n++
			}
			counts[i] = n
		}(i)
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	time.Sleep(time.Duration(seconds * float64(time.Second)))
	stop.Store(true)
	done.Wait()
	elapsed := time.Since(t0)
	ln.Close()
	select {
	case err := <-errs:
		fail(err)
	default:
	}
	var ops uint64
	for _, n := range counts {
		ops += n
	}
	return result{ops: ops, elapsed: elapsed}
}

// fail reports a case that could not measure, and exits.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}
