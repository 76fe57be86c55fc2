package baton

/*
#include <stdlib.h>
#include <string.h>
#include "baton.h"

typedef struct { baton_chan *c; char *err; } baton_go_new_chan;

// baton_chan_new, with a copy of the error taken in the same cgo call.
static baton_go_new_chan baton_go_chan_new(size_t capacity, uint32_t flags) {
    baton_go_new_chan r = {0};
    r.c = baton_chan_new(capacity, flags);
    if (r.c == NULL) r.err = strdup(baton_last_error());
    return r;
}

// Results by value, so that Go passes no pointer to its own memory for
// out-parameters (each would be allocated on the heap).
typedef struct { uint8_t *buf; size_t len; baton_status status; } baton_go_msg;

static baton_go_msg baton_go_recv_owned(const baton_chan *c) {
    baton_go_msg r = {0};
    r.status = baton_chan_recv_owned(c, &r.buf, &r.len);
    return r;
}

static baton_go_msg baton_go_try_recv_owned(const baton_chan *c) {
    baton_go_msg r = {0};
    r.status = baton_chan_try_recv_owned(c, &r.buf, &r.len);
    return r;
}

static baton_go_msg baton_go_recv_owned_timeout(const baton_chan *c, uint64_t ns) {
    baton_go_msg r = {0};
    r.status = baton_chan_recv_owned_timeout(c, &r.buf, &r.len, ns);
    return r;
}

static baton_go_msg baton_go_recv_into(const baton_chan *c, uint8_t *buf, size_t cap) {
    baton_go_msg r = {0};
    r.status = baton_chan_recv(c, buf, cap, &r.len);
    return r;
}
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// Chan is a channel of []byte messages implemented by baton (Rust), shared
// by Go, C and Rust threads: each message is a copy of the sent bytes.
// Create it with [NewChan] or [NewUnboundedChan]; [Chan.Close] closes it
// (as Go's close), [Chan.Free] releases it.
type Chan struct {
	c *C.baton_chan
}

// NewChan returns a channel buffering capacity messages; 0 makes a
// rendezvous channel (a send waits for a receive), as in Go.
func NewChan(capacity int) (*Chan, error) {
	if capacity < 0 {
		return nil, fmt.Errorf("NewChan: negative capacity %d", capacity)
	}
	r := C.baton_go_chan_new(C.size_t(capacity), 0)
	if r.c == nil {
		return nil, fmt.Errorf("NewChan: %s", lastError(r.err))
	}
	return &Chan{c: r.c}, nil
}

// NewUnboundedChan returns a channel whose sends never wait.
func NewUnboundedChan() (*Chan, error) {
	r := C.baton_go_chan_new(0, C.BATON_CHAN_UNBOUNDED)
	if r.c == nil {
		return nil, fmt.Errorf("NewUnboundedChan: %s", lastError(r.err))
	}
	return &Chan{c: r.c}, nil
}

// cBytes is msg's first byte for C (nil for an empty message). Passing it
// is allowed by cgo's rules: a []byte holds no Go pointers, and C keeps it
// only for the call (the send copies it).
func cBytes(msg []byte) (*C.uint8_t, C.size_t) {
	if len(msg) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&msg[0])), C.size_t(len(msg))
}

func nanos(d time.Duration) C.uint64_t {
	if d < 0 {
		d = 0
	}
	return C.uint64_t(d)
}

// Send sends a copy of msg, waiting while the channel is full; [ErrClosed]
// once the channel is closed.
func (c *Chan) Send(msg []byte) error {
	if c.c == nil {
		return fmt.Errorf("Chan.Send: %w", ErrFreed)
	}
	p, n := cBytes(msg)
	return statusErr("Chan.Send", C.baton_chan_send(c.c, p, n))
}

// TrySend sends a copy of msg if there is room now, else returns [ErrFull].
func (c *Chan) TrySend(msg []byte) error {
	if c.c == nil {
		return fmt.Errorf("Chan.TrySend: %w", ErrFreed)
	}
	p, n := cBytes(msg)
	return statusErr("Chan.TrySend", C.baton_chan_try_send(c.c, p, n))
}

// SendTimeout is [Chan.Send] waiting at most d ([ErrTimeout]).
func (c *Chan) SendTimeout(msg []byte, d time.Duration) error {
	if c.c == nil {
		return fmt.Errorf("Chan.SendTimeout: %w", ErrFreed)
	}
	p, n := cBytes(msg)
	return statusErr("Chan.SendTimeout", C.baton_chan_send_timeout(c.c, p, n, nanos(d)))
}

// owned copies a buffer handed over by an owned receive into Go memory
// and frees it.
func owned(buf *C.uint8_t, n C.size_t) []byte {
	if buf == nil {
		return []byte{}
	}
	msg := C.GoBytes(unsafe.Pointer(buf), C.int(n))
	C.baton_buf_free(buf)
	return msg
}

// Recv receives the next message, waiting while the channel is empty;
// [ErrClosed] once it is closed and drained.
func (c *Chan) Recv() ([]byte, error) {
	if c.c == nil {
		return nil, fmt.Errorf("Chan.Recv: %w", ErrFreed)
	}
	r := C.baton_go_recv_owned(c.c)
	if err := statusErr("Chan.Recv", r.status); err != nil {
		return nil, err
	}
	return owned(r.buf, r.len), nil
}

// TryRecv receives a message if one is there now, else returns [ErrEmpty].
func (c *Chan) TryRecv() ([]byte, error) {
	if c.c == nil {
		return nil, fmt.Errorf("Chan.TryRecv: %w", ErrFreed)
	}
	r := C.baton_go_try_recv_owned(c.c)
	if err := statusErr("Chan.TryRecv", r.status); err != nil {
		return nil, err
	}
	return owned(r.buf, r.len), nil
}

// RecvTimeout is [Chan.Recv] waiting at most d ([ErrTimeout]).
func (c *Chan) RecvTimeout(d time.Duration) ([]byte, error) {
	if c.c == nil {
		return nil, fmt.Errorf("Chan.RecvTimeout: %w", ErrFreed)
	}
	r := C.baton_go_recv_owned_timeout(c.c, nanos(d))
	if err := statusErr("Chan.RecvTimeout", r.status); err != nil {
		return nil, err
	}
	return owned(r.buf, r.len), nil
}

// RecvInto receives the next message into buf (one cgo call, no
// allocation) and returns its length. If buf is too small it returns the
// message's length and [ErrBufferTooSmall], and the message stays first in
// line for the next receive.
func (c *Chan) RecvInto(buf []byte) (int, error) {
	if c.c == nil {
		return 0, fmt.Errorf("Chan.RecvInto: %w", ErrFreed)
	}
	p, cp := cBytes(buf)
	r := C.baton_go_recv_into(c.c, p, cp)
	return int(r.len), statusErr("Chan.RecvInto", r.status)
}

// Close closes the channel, as Go's close: later sends return [ErrClosed],
// receivers get the messages already sent, then [ErrClosed]. Closing twice
// is harmless (unlike Go).
func (c *Chan) Close() error {
	if c.c == nil {
		return fmt.Errorf("Chan.Close: %w", ErrFreed)
	}
	return statusErr("Chan.Close", C.baton_chan_close(c.c))
}

// Free releases the channel and the messages still in it. No call may run
// concurrently with it (none blocked in the channel either; close it and
// let them return first); later calls return [ErrFreed], and Free again
// does nothing.
func (c *Chan) Free() {
	if c.c != nil {
		C.baton_chan_free(c.c)
		c.c = nil
	}
}
