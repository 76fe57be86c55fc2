// Package cmem allocates C memory for the binding's tests and examples
// (Go test files cannot use cgo themselves): the kind of memory that
// [baton.Handles] stores, outside the Go heap.
package cmem

// #include <stdlib.h>
import "C"

import "unsafe"

// Alloc returns n bytes from C.malloc (freed by C.free, or by a registry
// from baton.NewHandlesFree). It panics if the allocation fails.
func Alloc(n int) unsafe.Pointer {
	p := C.malloc(C.size_t(n))
	if p == nil {
		panic("cmem: malloc failed")
	}
	return p
}

// Int64 returns C memory holding v.
func Int64(v int64) unsafe.Pointer {
	p := Alloc(8)
	*(*int64)(p) = v
	return p
}

// Free frees memory from Alloc.
func Free(p unsafe.Pointer) {
	C.free(p)
}
