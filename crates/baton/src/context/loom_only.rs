//! Under `cfg(loom)` only the cancellation tree is compiled (the rest of
//! `context` uses the runtime, time and channels, which loom does not
//! model); its loom models are in `loom_tests.rs`.

#[allow(dead_code, unreachable_pub)]
mod error;
#[cfg(test)]
mod loom_tests;
#[allow(dead_code)]
pub(crate) mod tree;
