//! The scheduler: worker threads and their loop, the run queues (ring,
//! inbox, injector), sleeping and waking, goroutines and their stacks, and
//! the park hook that suspends a goroutine. It imports nothing from `diag`.

#![cfg_attr(loom, allow(dead_code, unused_imports))]

pub(crate) mod idle;
pub(crate) mod inbox;
pub(crate) mod join_cell;
pub(crate) mod park_state;
pub(crate) mod ring;

#[cfg(not(loom))]
pub(crate) mod counters;
#[cfg(not(loom))]
pub(crate) mod current;
#[cfg(not(loom))]
pub(crate) mod dump_inbox;
#[cfg(not(loom))]
pub(crate) mod goroutine;
#[cfg(not(loom))]
pub(crate) mod injector;
#[cfg(not(loom))]
pub(crate) mod netpoll;
#[cfg(not(loom))]
pub(crate) mod park_hook;
#[cfg(not(loom))]
pub(crate) mod shared;
#[cfg(not(loom))]
pub(crate) mod stack;
#[cfg(not(loom))]
pub(crate) mod timers;
#[cfg(not(loom))]
pub(crate) mod worker;
