//! Unit tests of the context module; the Go ports are in `tests/go_context.rs`.
