package baton

/*
#include <stdlib.h>
#include <string.h>
#include "baton.h"

static baton_destructor baton_go_c_free(void) { return free; }

// Results by value, so that Go passes no pointer to its own memory (which
// would make every call allocate the out-parameter on the heap).
typedef struct { void *ptr; baton_status status; } baton_go_ptr;

static baton_go_ptr baton_go_handles_get(const baton_handles *m, uint64_t h) {
    baton_go_ptr r = {0};
    r.status = baton_handles_get(m, h, &r.ptr);
    return r;
}

typedef struct { uint64_t id; char *err; } baton_go_id;

static baton_go_id baton_go_handles_insert(const baton_handles *m, void *p) {
    baton_go_id r = {0};
    r.id = baton_handles_insert(m, p);
    if (r.id == 0) r.err = strdup(baton_last_error());
    return r;
}

static baton_go_ptr baton_go_handles_remove(const baton_handles *m, uint64_t h) {
    baton_go_ptr r = {0};
    r.status = baton_handles_remove(m, h, &r.ptr);
    return r;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Handles is a registry of pointers to memory outside the Go heap (from
// C.malloc, or from C or Rust code), addressed by uint64 handles that are
// checked on every use. Create it with [NewHandles] or [NewHandlesFree];
// release it with [Handles.Close].
type Handles struct {
	m *C.baton_handles
}

func newHandles(destructor C.baton_destructor) (*Handles, error) {
	m := C.baton_handles_new(destructor)
	if m == nil {
		return nil, fmt.Errorf("NewHandles: %w", ErrTooManyMaps)
	}
	return &Handles{m: m}, nil
}

// NewHandles returns a registry that borrows its pointers: it never frees
// them ([Handles.Delete] and [Handles.Close] only forget them).
func NewHandles() (*Handles, error) {
	return newHandles(nil)
}

// NewHandlesFree returns a registry that owns its pointers, which must come
// from C.malloc: [Handles.Delete] and [Handles.Close] free them with C.free.
func NewHandlesFree() (*Handles, error) {
	return newHandles(C.baton_go_c_free())
}

// Insert stores p (not nil, not Go memory) and returns its handle, never 0.
func (h *Handles) Insert(p unsafe.Pointer) (uint64, error) {
	if h.m == nil {
		return 0, fmt.Errorf("Handles.Insert: %w", ErrFreed)
	}
	if p == nil {
		return 0, fmt.Errorf("Handles.Insert: %w", ErrNilValue)
	}
	r := C.baton_go_handles_insert(h.m, p)
	if r.id == 0 {
		return 0, fmt.Errorf("Handles.Insert: %s", lastError(r.err))
	}
	return uint64(r.id), nil
}

// Get returns the pointer stored under handle.
func (h *Handles) Get(handle uint64) (unsafe.Pointer, error) {
	if h.m == nil {
		return nil, fmt.Errorf("Handles.Get: %w", ErrFreed)
	}
	r := C.baton_go_handles_get(h.m, C.uint64_t(handle))
	if err := statusErr("Handles.Get", r.status); err != nil {
		return nil, err
	}
	return r.ptr, nil
}

// Remove takes the pointer stored under handle out of the registry and
// returns it (the caller owns it again; nothing is freed). Every copy of
// handle is stale from then on.
func (h *Handles) Remove(handle uint64) (unsafe.Pointer, error) {
	if h.m == nil {
		return nil, fmt.Errorf("Handles.Remove: %w", ErrFreed)
	}
	r := C.baton_go_handles_remove(h.m, C.uint64_t(handle))
	if err := statusErr("Handles.Remove", r.status); err != nil {
		return nil, err
	}
	return r.ptr, nil
}

// Delete removes the pointer stored under handle and, for a registry from
// [NewHandlesFree], frees it.
func (h *Handles) Delete(handle uint64) error {
	if h.m == nil {
		return fmt.Errorf("Handles.Delete: %w", ErrFreed)
	}
	return statusErr("Handles.Delete", C.baton_handles_remove(h.m, C.uint64_t(handle), nil))
}

// Len returns the number of pointers stored (not a snapshot while other
// goroutines insert or remove).
func (h *Handles) Len() int {
	if h.m == nil {
		return 0
	}
	return int(C.baton_handles_len(h.m))
}

// Close releases the registry (freeing what is left in it, for a registry
// from [NewHandlesFree]). It must not run concurrently with other calls;
// later calls return [ErrFreed], and Close again does nothing.
func (h *Handles) Close() error {
	if h.m != nil {
		C.baton_handles_free(h.m)
		h.m = nil
	}
	return nil
}
