//! Under `cfg(loom)` only the poll descriptor's state machine and the
//! poller's slot protocol are compiled (the poller and the sockets use real
//! descriptors, which loom does not model); their loom models are in
//! `poll_desc.rs` and `slot.rs`.

#[allow(dead_code)]
pub(crate) mod poll_desc;

#[allow(dead_code)]
mod slot;
