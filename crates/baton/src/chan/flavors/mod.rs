//! The channel flavours, one file each, and the token their two-phase
//! operations share (habit 13: `start_send`/`start_recv` claim, then
//! `write`/`read` complete; a plain send or receive and `select` use the
//! same pair).
//!
//! | flavour | file | made by |
//! |---|---|---|
//! | bounded ring | `array.rs` | `bounded(n)`, `n >= 1` |
//! | linked blocks | `list.rs` | `unbounded()` |
//! | rendezvous | `zero.rs` | `rendezvous()`, `bounded(0)` |
//! | clock | `timer.rs` | `time::after`, `time::tick`, `Timer`, `Ticker` |
//! | never ready | `never.rs` | `never()` |

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod never;
pub(crate) mod timer;
pub(crate) mod zero;

use std::time::Instant;

/// What phase 1 of an operation claimed, for phase 2; each flavour uses its
/// own field.
#[derive(Debug, Default)]
pub(crate) struct Token {
    pub(crate) array: array::ArrayToken,
    pub(crate) list: list::ListToken,
    pub(crate) zero: zero::ZeroToken,
    pub(crate) timer: Option<Instant>,
}
