package baton

// The link flags for every file of the package: the static library from
// the repository's target/release (see the package doc for building it).
// -l:libbaton_ffi.a picks the static library even where the shared one
// sits beside it, so no LD_LIBRARY_PATH is needed at run time.

/*
#cgo CFLAGS: -I${SRCDIR}/../../../crates/baton-ffi/include
#cgo LDFLAGS: -L${SRCDIR}/../../../target/release -l:libbaton_ffi.a -lpthread -ldl -lm

#include <stdlib.h>

// An empty C function: the benchmarks' measure of one cgo call's own cost.
static void baton_go_noop(void) {}

*/
import "C"

import "unsafe"

// lastError is the detail of a failure, from the copy (strdup) of
// baton_last_error that the failing cgo call took itself: between two cgo
// calls a goroutine may change threads, and another call on the first
// thread may replace (and free) the message. It frees the copy.
func lastError(msg *C.char) string {
	if msg == nil {
		return "(no detail: out of memory)"
	}
	defer C.free(unsafe.Pointer(msg))
	return C.GoString(msg)
}

// cgoNoop makes one cgo call that does nothing (for the benchmarks).
func cgoNoop() { C.baton_go_noop() }
