package baton_test

import (
	"errors"
	"fmt"

	"baton/bindings/go/baton"
	"baton/bindings/go/internal/cmem"
)

// A registry that owns C-allocated state: the handle is all that crosses
// into C or is kept by Go.
func ExampleHandles() {
	h, err := baton.NewHandlesFree()
	if err != nil {
		panic(err)
	}
	defer h.Close() // frees what is left

	state := cmem.Int64(41) // C memory: what cgo lets C keep
	id, _ := h.Insert(state)

	p, _ := h.Get(id)
	*(*int64)(p) += 1
	fmt.Println(*(*int64)(p))

	_ = h.Delete(id) // frees the state
	_, err = h.Get(id)
	fmt.Println(errors.Is(err, baton.ErrStaleHandle))
	// Output:
	// 42
	// true
}

// Stale, foreign and made-up handles are errors, never another object.
func ExampleHandles_Get() {
	a, _ := baton.NewHandlesFree()
	defer a.Close()
	b, _ := baton.NewHandles()
	defer b.Close()
	id, _ := a.Insert(cmem.Alloc(1))

	_, err := b.Get(id)
	fmt.Println(errors.Is(err, baton.ErrWrongMap))
	_, err = a.Get(12345)
	fmt.Println(errors.Is(err, baton.ErrInvalidHandle))
	// Output:
	// true
	// true
}

func ExampleChan() {
	c, err := baton.NewChan(16)
	if err != nil {
		panic(err)
	}
	defer c.Free()

	go func() {
		for _, w := range []string{"a", "b", "c"} {
			c.Send([]byte(w))
		}
		c.Close()
	}()
	for {
		msg, err := c.Recv()
		if errors.Is(err, baton.ErrClosed) {
			break
		}
		fmt.Print(string(msg))
	}
	fmt.Println()
	// Output: abc
}

// RecvInto copies into the caller's buffer; a message too big for it stays
// in line and its size is reported.
func ExampleChan_RecvInto() {
	c, _ := baton.NewUnboundedChan()
	defer c.Free()
	c.Send([]byte("a longer message"))

	n, err := c.RecvInto(make([]byte, 4))
	fmt.Println(n, errors.Is(err, baton.ErrBufferTooSmall))
	buf := make([]byte, n)
	n, _ = c.RecvInto(buf)
	fmt.Println(string(buf[:n]))
	// Output:
	// 16 true
	// a longer message
}
