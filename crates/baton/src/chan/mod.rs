//! Layer 3: channels — Go's `chan` with Rust's ownership — and `select`.
//!
//! | constructor | Go | buffer |
//! |---|---|---|
//! | [`bounded(n)`](bounded), `n >= 1` | `make(chan T, n)` | a preallocated ring of `n` slots |
//! | [`rendezvous()`](rendezvous) (= `bounded(0)`) | `make(chan T)` | none: a send waits for a receiver |
//! | [`unbounded()`](unbounded) | — | linked blocks; sends never wait |
//! | [`never()`](never) | a nil channel | never ready |
//! | [`time::after`](crate::time::after), [`time::tick`](crate::time::tick) | `time.After`, `time.Tick` | values computed from the clock |
//!
//! All are multi-producer multi-consumer: [`Sender`] and [`Receiver`] are
//! `Clone`, and `Send + Sync` when `T: Send`. Wait on several at once with
//! [`select!`](crate::select!) or [`Select`].
//!
//! A channel of values that must stay on their thread cannot be shared
//! (Go has no such rule; Rust checks it at compile time):
//!
//! ```compile_fail
//! let (tx, rx) = baton::chan::unbounded::<std::rc::Rc<i32>>();
//! std::thread::spawn(move || tx.send(std::rc::Rc::new(1)));
//! ```
//!
//! and the halves are what they say (Go's `chan<-`/`<-chan` directions,
//! `test/chan/perm.go`): a receiver cannot send.
//!
//! ```compile_fail
//! let (_tx, rx) = baton::chan::bounded::<i32>(1);
//! rx.send(1);
//! ```
//!
//! # Semantics
//!
//! - **Nothing is lost.** A send that fails hands its value back
//!   ([`SendError`], [`TrySendError`], [`SendTimeoutError`]). Values are
//!   dropped inside a channel only when the channel itself is dropped (its
//!   last handle is gone) with values still in it.
//! - **Closing.** [`Sender::close`] closes the channel for everyone, and so
//!   does dropping the last `Sender`: later sends fail, blocked senders
//!   wake with their values, and receivers get every value sent before the
//!   close, then [`RecvError::Closed`] (`for v in &rx` ends: Go's `range`).
//!   Dropping the last `Receiver` closes it too, so senders stop waiting
//!   for a reader that will never come. Unlike Go, closing twice or sending
//!   on a closed channel is an error value, never a panic.
//! - **Blocking** (`send`, `recv`, `select`, iteration) parks through
//!   baton's park layer: a goroutine frees its worker for others, a thread
//!   sleeps. A waiting thread spins for a few microseconds first (see
//!   `context.rs`: waking a sleeping thread costs far more than a short
//!   spin on these machines); a goroutine never spins.
//! - **Order.** Each channel is FIFO: values from one sender arrive in the
//!   order sent. Waiting receivers are not served in strict arrival order
//!   (a receiver that spins may overtake one that sleeps).
//!
//! ```
//! use baton::chan;
//!
//! let (tx, rx) = chan::bounded(16);
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         baton::go(move || {
//!             for i in 0..100 {
//!                 tx.send(p * 100 + i).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop(tx); // the channel closes when the producers' clones are gone too
//! let sum: u64 = rx.iter().sum();
//! assert_eq!(sum, (0..400).sum());
//! for p in producers {
//!     p.join().unwrap();
//! }
//! ```
//!
//! # Inside
//!
//! One file per flavour under `flavors/` (habit 12), each with a two-phase
//! operation pair — `start_send`/`write`, `start_recv`/`read` — shared by
//! the plain operations and by `select` (habit 13), as in crossbeam-channel,
//! whose design this follows. `context.rs` (a blocked operation's
//! rendezvous point and the spin-then-park policy), `waker.rs` (who is
//! blocked on each side, and the no-lost-wake-up argument), `select/`
//! (the select algorithm, the builder, the macro).
//!
//! ## Alternatives rejected
//!
//! - **One lock per channel, as Go's `hchan`**: simplest, and it makes
//!   select easy (lock every channel in address order), but every send and
//!   receive contends on it; the lock-free ring and list keep producers and
//!   consumers on different cache lines. The rendezvous flavour does use a
//!   (spin) lock: it has no buffer to split.
//! - **Building on `park::WaitQueue`**: its waiters wait on one queue; a
//!   select waits on many at once and must be completed by exactly one, so
//!   the channel wakers hold per-wait contexts whose state word is claimed
//!   by one CAS (crossbeam's scheme).
//! - **A timer thread for `after`/`tick`**: clock channels compute their
//!   value from the clock when asked, and a waiting receiver parks with
//!   the due time as its deadline; no thread, no heap entry, nothing to
//!   leak when a timer is dropped unread.

mod context;
mod counter;
#[cfg(not(loom))]
mod ctx;
mod error;
mod flavors;
mod iter;
mod lock;
mod receiver;
mod select;
mod sender;
mod waker;

#[cfg(not(loom))]
pub use ctx::{RecvCtxError, SendCtxError};
pub use error::{
    ReadyTimeoutError, RecvError, RecvTimeoutError, SelectTimeoutError, SendError,
    SendTimeoutError, TryReadyError, TryRecvError, TrySelectError, TrySendError,
};
pub use iter::{IntoIter, Iter, TryIter};
pub use receiver::Receiver;
#[doc(hidden)]
pub use select::__private;
pub use select::{Select, SelectedOperation};
pub use sender::Sender;

#[cfg(not(loom))]
pub(crate) use flavors::timer::Channel as TimerChannel;

use counter::Counted;
use flavors::{array, list, zero};
use receiver::ReceiverFlavor;
use sender::SenderFlavor;

/// A channel holding up to `cap` values (Go's `make(chan T, cap)`);
/// `bounded(0)` is a [`rendezvous`] channel.
///
/// The buffer is allocated once, here.
///
/// ```
/// let (tx, rx) = baton::chan::bounded(2);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// assert!(tx.try_send(3).is_err()); // full
/// assert_eq!(rx.recv(), Ok(1));
/// ```
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    if cap == 0 {
        return rendezvous();
    }
    let c = Counted::new(array::Channel::with_capacity(cap));
    (
        Sender {
            flavor: SenderFlavor::Array(c.clone()),
        },
        Receiver {
            flavor: ReceiverFlavor::Array(c),
        },
    )
}

/// A channel with no buffer (Go's `make(chan T)`): a send waits until a
/// receiver takes the value, hand to hand.
///
/// ```
/// let (tx, rx) = baton::chan::rendezvous();
/// let h = std::thread::spawn(move || rx.recv().unwrap());
/// tx.send(5).unwrap(); // returns once the thread has the value
/// assert_eq!(h.join().unwrap(), 5);
/// ```
pub fn rendezvous<T>() -> (Sender<T>, Receiver<T>) {
    let c = Counted::new(zero::Channel::new());
    (
        Sender {
            flavor: SenderFlavor::Zero(c.clone()),
        },
        Receiver {
            flavor: ReceiverFlavor::Zero(c),
        },
    )
}

/// A channel without a bound: sends never wait (memory is the limit).
///
/// ```
/// let (tx, rx) = baton::chan::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let c = Counted::new(list::Channel::new());
    (
        Sender {
            flavor: SenderFlavor::List(c.clone()),
        },
        Receiver {
            flavor: ReceiverFlavor::List(c),
        },
    )
}

/// A receiver that is never ready (Go's nil channel): `recv` blocks
/// forever, and a `select!` arm on it is never chosen.
///
/// ```
/// use std::time::Duration;
/// let rx = baton::chan::never::<i32>();
/// assert!(rx.recv_timeout(Duration::from_millis(1)).is_err());
/// ```
pub fn never<T>() -> Receiver<T> {
    Receiver {
        flavor: ReceiverFlavor::Never,
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
