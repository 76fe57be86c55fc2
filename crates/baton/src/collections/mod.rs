//! Layer 3: contention-free collections.
