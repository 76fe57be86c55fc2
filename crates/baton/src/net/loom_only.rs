//! Under `cfg(loom)` only the poll descriptor's state machine is compiled
//! (the poller and the sockets use real descriptors, which loom does not
//! model); its loom models are in `poll_desc.rs`.

#[allow(dead_code)]
pub(crate) mod poll_desc;
