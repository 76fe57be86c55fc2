package main

// The Go peer of the lab's `echo` experiment (listed in cases.go): the same
// shape as crates/baton-lab/src/experiments/echo.rs. threads = connections:
// that many client goroutines, each with its own server goroutine in the
// server process, doing 64-byte round trips over loopback TCP (Go sets
// TCP_NODELAY by default).

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// echoMsg is the bytes per message.
const echoMsg = 64

// echoRoundTrip: one op = one 64-byte write and the 64-byte echo read back;
// connecting is untimed. The server is this harness again, in a process of
// its own (-echo-server), as the lab's Rust rows run theirs: each process
// holds one end of each connection, which RLIMIT_NOFILE must allow (Go
// raises the soft limit to the hard one at start; the case raises the hard
// one too where it may, or fails saying so).
func echoRoundTrip(conns int, seconds float64) result {
	need := uint64(conns + 64)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < need {
		raised := syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			fmt.Fprintf(os.Stderr, "%d connections need %d descriptors; RLIMIT_NOFILE is %d (hard %d) and could not be raised (%v): skipped\n",
				conns, need, lim.Cur, lim.Max, err)
			os.Exit(1)
		}
	}
	server := exec.Command(os.Args[0], "-echo-server", "127.0.0.1:0")
	server.Stderr = os.Stderr
	// The server dies with this process, whatever ends it.
	server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := server.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := server.Start(); err != nil {
		fail(err)
	}
	kill := func() {
		server.Process.Kill()
		server.Wait()
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "listening on ") {
		kill()
		fail(fmt.Errorf("the echo server did not say where it listens"))
	}
	addr := strings.TrimPrefix(lines.Text(), "listening on ")
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
			c, err := echoConnect(addr)
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
	kill()
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

// echoConnectTries is how often a client tries to connect and complete one
// untimed round trip: 10k clients at once may overflow a listen backlog (the
// lab's Rust rows retry the same way, with the same naps).
const echoConnectTries = 8

// echoConnect dials addr and completes one round trip, retrying.
func echoConnect(addr string) (net.Conn, error) {
	var last error
	for attempt := 0; attempt < echoConnectTries; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(10<<min(attempt, 6)) * time.Millisecond)
		}
		c, err := net.Dial("tcp", addr)
		if err == nil {
			buf := make([]byte, echoMsg)
			if _, err = c.Write(buf); err == nil {
				_, err = io.ReadFull(c, buf)
			}
			if err == nil {
				return c, nil
			}
			c.Close()
		}
		last = err
	}
	return nil, fmt.Errorf("connect and first round trip, %d tries: %w", echoConnectTries, last)
}

// echoServe listens on each of the comma-separated addresses in addrs (the
// lab's `conns` experiment needs several ports for 100k connections), says
// where on stdout (`listening on A1,A2`), and echoes 64-byte messages on each
// connection (a goroutine each) until killed. It is also the `conns`
// experiment's Go server, whose idle connections each hold one goroutine
// parked in ReadFull, as the lab's Rust servers do (servers.rs).
func echoServe(addrs string) error {
	var lns []net.Listener
	var bound []string
	for _, addr := range strings.Split(addrs, ",") {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
		bound = append(bound, ln.Addr().String())
	}
	fmt.Printf("listening on %s\n", strings.Join(bound, ","))
	for _, ln := range lns[1:] {
		go echoAccept(ln)
	}
	echoAccept(lns[0])
	return nil
}

// echoAccept serves ln's connections, a goroutine each, until killed.
func echoAccept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
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
}

// fail reports a case that could not measure, and exits.
func fail(err error) {
	fmt.Fprintln(os.Stderr, "echo:", err)
	os.Exit(1)
}
