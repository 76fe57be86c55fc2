//! Diagnostics: counters ([`stats`](super::stats())), goroutine dumps, the
//! deadlock check, the long-run monitor, stack usage and overflow reports.
//! They read the scheduler's state; the scheduler never imports them.

pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod monitor;
pub(crate) mod overflow;
pub(crate) mod sigquit;
pub(crate) mod stats;
pub(crate) mod usage;
