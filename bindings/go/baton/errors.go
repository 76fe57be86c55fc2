package baton

/*
#include "baton.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// The errors the binding returns, one per baton_status code (wrapped with
// the operation's name: compare with errors.Is).
var (
	// ErrInvalidHandle: 0, a made-up value, or a handle no registry issued.
	ErrInvalidHandle = errors.New("baton: invalid handle: never issued by a registry")
	// ErrStaleHandle: the handle's value was removed.
	ErrStaleHandle = errors.New("baton: stale handle: its value was removed")
	// ErrWrongMap: the handle was issued by another registry.
	ErrWrongMap = errors.New("baton: handle from a different registry")
	// ErrTooManyMaps: 4095 registries are alive; close one.
	ErrTooManyMaps = errors.New("baton: too many live registries (4095)")
	// ErrClosed: the channel is closed (for a receive: closed and drained).
	ErrClosed = errors.New("baton: channel closed")
	// ErrFull: a TrySend found no room.
	ErrFull = errors.New("baton: channel full")
	// ErrEmpty: a TryRecv found no message.
	ErrEmpty = errors.New("baton: channel empty")
	// ErrTimeout: a Timeout variant's time ran out.
	ErrTimeout = errors.New("baton: timed out")
	// ErrBufferTooSmall: RecvInto's buffer is smaller than the message;
	// the message is kept for the next receive.
	ErrBufferTooSmall = errors.New("baton: buffer too small for the message")
	// ErrFreed: the registry was closed, or the channel freed.
	ErrFreed = errors.New("baton: use after Close/Free")
	// ErrNilValue: Handles.Insert was given a nil pointer.
	ErrNilValue = errors.New("baton: nil pointer inserted")
)

// statusErr maps a baton_status to its error (nil for BATON_OK), wrapped
// with the operation that failed.
func statusErr(op string, s C.baton_status) error {
	var base error
	switch s {
	case C.BATON_OK:
		return nil
	case C.BATON_ERR_INVALID_HANDLE:
		base = ErrInvalidHandle
	case C.BATON_ERR_STALE_HANDLE:
		base = ErrStaleHandle
	case C.BATON_ERR_WRONG_MAP:
		base = ErrWrongMap
	case C.BATON_ERR_TOO_MANY_MAPS:
		base = ErrTooManyMaps
	case C.BATON_ERR_CLOSED:
		base = ErrClosed
	case C.BATON_ERR_FULL:
		base = ErrFull
	case C.BATON_ERR_EMPTY:
		base = ErrEmpty
	case C.BATON_ERR_TIMEOUT:
		base = ErrTimeout
	case C.BATON_ERR_BUFFER_TOO_SMALL:
		base = ErrBufferTooSmall
	default:
		// NULL_POINTER, INVALID_ARGUMENT, NO_MEMORY, PANIC: the binding
		// never passes what the first two reject, so these are bugs or
		// exhaustion; keep the C library's own words.
		return fmt.Errorf("baton: %s: %s (status %d)", op, C.GoString(C.baton_strerror(s)), int(s))
	}
	return fmt.Errorf("%s: %w", op, base)
}
