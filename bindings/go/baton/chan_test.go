package baton

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func mustChan(t testing.TB, capacity int) *Chan {
	t.Helper()
	c, err := NewChan(capacity)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Free)
	return c
}

func TestChanSendRecv(t *testing.T) {
	c := mustChan(t, 4)
	if err := c.Send([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(nil); err != nil { // an empty message
		t.Fatal(err)
	}
	if m, err := c.Recv(); err != nil || string(m) != "hello" {
		t.Fatalf("Recv = %q, %v", m, err)
	}
	if m, err := c.Recv(); err != nil || len(m) != 0 {
		t.Fatalf("Recv of the empty message = %q, %v", m, err)
	}
	if _, err := c.TryRecv(); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv on empty: %v", err)
	}
	if _, err := c.RecvTimeout(time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("RecvTimeout on empty: %v", err)
	}
	for i := 0; i < 4; i++ {
		if err := c.TrySend([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.TrySend([]byte{9}); !errors.Is(err, ErrFull) {
		t.Fatalf("TrySend on full: %v", err)
	}
	if err := c.SendTimeout([]byte{9}, time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("SendTimeout on full: %v", err)
	}
	for i := 0; i < 4; i++ {
		if m, err := c.TryRecv(); err != nil || !bytes.Equal(m, []byte{byte(i)}) {
			t.Fatalf("TryRecv %d = %v, %v", i, m, err)
		}
	}
}

func TestChanRecvIntoKeepsATooBigMessage(t *testing.T) {
	c := mustChan(t, 2)
	c.Send([]byte("0123456789"))
	c.Send([]byte("second"))
	small := make([]byte, 4)
	n, err := c.RecvInto(small)
	if !errors.Is(err, ErrBufferTooSmall) || n != 10 {
		t.Fatalf("RecvInto(small) = %d, %v; want 10, ErrBufferTooSmall", n, err)
	}
	big := make([]byte, n)
	if n, err := c.RecvInto(big); err != nil || string(big[:n]) != "0123456789" {
		t.Fatalf("retry = %q, %v: the message was lost or reordered", big[:n], err)
	}
	if n, err := c.RecvInto(big); err != nil || string(big[:n]) != "second" {
		t.Fatalf("RecvInto = %q, %v", big[:n], err)
	}
}

func TestChanClose(t *testing.T) {
	c := mustChan(t, 2)
	c.Send([]byte("a"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Send([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if m, err := c.Recv(); err != nil || string(m) != "a" {
		t.Fatalf("Recv drains: %q, %v", m, err)
	}
	if _, err := c.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Recv after drain: %v", err)
	}
	c.Free()
	c.Free() // harmless
	if err := c.Send(nil); !errors.Is(err, ErrFreed) {
		t.Fatalf("Send after Free: %v", err)
	}
	if _, err := c.Recv(); !errors.Is(err, ErrFreed) {
		t.Fatalf("Recv after Free: %v", err)
	}
	if _, err := NewChan(-1); err == nil {
		t.Fatal("NewChan(-1) succeeded")
	}
}

func TestChanCloseWakesBlockedReceivers(t *testing.T) {
	c := mustChan(t, 0)
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() {
			_, err := c.Recv()
			errs <- err
		}()
	}
	time.Sleep(10 * time.Millisecond) // let them block (not needed for correctness)
	c.Close()
	for i := 0; i < 3; i++ {
		select {
		case err := <-errs:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("blocked Recv woke with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a blocked Recv did not wake on Close (hang guard)")
		}
	}
}

func TestChanManyGoroutines(t *testing.T) {
	for _, capacity := range []int{0, 1, 64} {
		t.Run(fmt.Sprint("cap", capacity), func(t *testing.T) {
			c := mustChan(t, capacity)
			const producers, consumers, per = 4, 4, 500
			var wg, cwg sync.WaitGroup
			var mu sync.Mutex
			seen := make(map[string]int)
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(p int) {
					defer wg.Done()
					for i := 0; i < per; i++ {
						if err := c.Send([]byte(fmt.Sprintf("%d/%d", p, i))); err != nil {
							t.Error(err)
							return
						}
					}
				}(p)
			}
			for q := 0; q < consumers; q++ {
				cwg.Add(1)
				go func(q int) {
					defer cwg.Done()
					buf := make([]byte, 16)
					for {
						var m []byte
						var err error
						if q%2 == 0 {
							m, err = c.Recv()
						} else {
							var n int
							n, err = c.RecvInto(buf)
							m = buf[:n]
						}
						if errors.Is(err, ErrClosed) {
							return
						}
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						seen[string(m)]++
						mu.Unlock()
					}
				}(q)
			}
			wg.Wait()
			c.Close()
			cwg.Wait()
			if len(seen) != producers*per {
				t.Fatalf("received %d distinct messages, want %d", len(seen), producers*per)
			}
			for m, n := range seen {
				if n != 1 {
					t.Fatalf("message %q received %d times", m, n)
				}
			}
		})
	}
}
