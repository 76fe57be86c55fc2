// Package baton is the Go binding of baton's C ABI (crates/baton-ffi): a
// registry of objects that live outside the Go heap, addressed by uint64
// handles, and channels of []byte that C, Rust and Go threads can share.
//
// # Why handles
//
// cgo forbids C from keeping Go pointers, so an object that crosses the
// boundary is kept on one side and named on the other by an integer. A
// [Handles] registry stores unsafe.Pointers to C- or Rust-allocated memory
// (never Go memory: cgo's pointer rules) and hands out uint64 handles that
// are checked on every use: a handle whose value was removed gives
// [ErrStaleHandle], one issued by another registry [ErrWrongMap], and 0 or
// a made-up value [ErrInvalidHandle]. Unlike runtime/cgo.Handle, a stale
// or foreign handle is an error value, never a panic or another object.
//
// # Building
//
// The package links the static library cargo builds, from the repository's
// target/release directory (the paths are relative to this package, so a
// checkout works as it is):
//
//	cargo build --release -p baton-ffi
//	cd bindings/go && go test ./...
//
// To link a library elsewhere, set CGO_LDFLAGS="-L/path/to/dir" before the
// default directory is searched (cgo puts the environment's flags first).
//
// # Usage rules
//
//   - Every method may be called from any number of goroutines at once,
//     except Close on a [Handles] and Free on a [Chan], which must be the
//     last call (no call may run concurrently with them or after them,
//     except more calls to them, which do nothing). A method called after
//     them returns [ErrFreed].
//   - Blocking methods ([Chan.Send], [Chan.Recv] and their variants) block
//     the calling goroutine's OS thread inside C; the Go runtime starts
//     another thread for other goroutines meanwhile, so they are fine but
//     not free: prefer the Try and Timeout variants in hot loops.
//   - Errors are values: compare with errors.Is against the Err variables.
package baton
