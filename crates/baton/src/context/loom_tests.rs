//! Loom models of the cancellation tree.
