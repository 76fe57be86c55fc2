//! Layer 3: channels — Go's `chan` with Rust's ownership — and `select`.
//!
//! This folder holds the handles (`sender.rs`, `receiver.rs`, `iter.rs`,
//! `error.rs`), the channel flavours (`flavors/`, one file each), `select`
//! (`select/`), and what blocking is built from (`waiter.rs`, `waker.rs`,
//! `counter.rs`, `lock.rs`); see "Inside" below.
//!
//! | constructor | Go | buffer |
//! |---|---|---|
//! | [`bounded(n)`](bounded), `n >= 1` | `make(chan T, n)` | a preallocated ring of `n` slots |
//! | [`rendezvous()`](rendezvous) (= `bounded(0)`) | `make(chan T)` | none: a send waits for a receiver |
//! | [`unbounded()`](unbounded) | — | linked blocks; sends never wait |
//! | [`never()`](fn@never) | a nil channel | never ready |
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
//!   dropped inside a channel only when nobody can receive them any more:
//!   when the last [`Receiver`] goes (as crossbeam-channel does; Go keeps
//!   them until the channel is garbage), or when the channel itself is
//!   dropped. A value whose `Drop` panics there does not leak the others:
//!   they are dropped too, then the panic goes on (as `Vec` does).
//! - **Panics leave channels usable.** A two-phase operation (below) may
//!   be abandoned between its phases: a [`SelectedOperation`] dropped or
//!   unwound. Its claim is then released — a claimed send *poisons* its
//!   slot, which receivers skip; a claimed receive drops its value — so
//!   the channel keeps working and a receiver still sees `Closed` once
//!   the senders are gone. `select!` evaluates send values before
//!   selecting (as Go), so a panicking value expression never claims.
//!   [`Sender`] and [`Receiver`] are therefore `UnwindSafe`. A *forgotten*
//!   operation (`mem::forget`) releases nothing and can leave that channel
//!   stuck, like a forgotten lock guard, but it is never unsound: no slot
//!   that was not written is ever read or dropped, and nothing spins on
//!   it (next point).
//! - **A send takes effect at its write.** Between a selected operation's
//!   two phases user code runs (it may block, park a goroutine, or forget
//!   the operation), so the other side never spins for phase 2: a
//!   receiver that reaches a slot whose send is claimed but not written
//!   yet spins only briefly, then treats the channel as empty (`try_recv`
//!   returns [`TryRecvError::Empty`], a blocking receive or select parks
//!   until the write notifies it); a sender that reaches a slot whose
//!   receive is claimed but not complete treats the channel as full
//!   likewise. The consequence: in a `bounded` channel slots are received
//!   in claim order, so while an earlier-claimed send is stalled between
//!   its phases, a `try_recv` may report `Empty` although a later send has
//!   completed (its value waits behind the stalled slot, and is received
//!   once the stall ends); in an `unbounded` channel the receiver gives the
//!   stalled slot up and the stalled value joins the queue at its write,
//!   behind values written before it. Go has no such window (a send is
//!   atomic under the channel's lock); crossbeam-channel spins there
//!   instead, which can wait forever for a forgotten operation or, inside
//!   a goroutine on one worker, for a goroutine that cannot run.
//! - **Closing.** [`Sender::close`] closes the channel for everyone, and so
//!   does dropping the last `Sender`: later sends fail, blocked senders
//!   wake with their values, and receivers get every value sent before the
//!   close, then [`RecvError::Closed`] (`for v in &rx` ends: Go's `range`).
//!   Dropping the last `Receiver` closes it too, so senders stop waiting
//!   for a reader that will never come. Unlike Go, neither is a panic:
//!   closing a closed channel does nothing, and a send on a closed channel
//!   fails with an error value that hands the value back ([`SendError`]).
//!   (Go panics on both.)
//! - **Blocking** (`send`, `recv`, `select`, iteration) parks through
//!   baton's park layer: a goroutine frees its worker for others, a thread
//!   sleeps. A waiting thread spins for a few microseconds first (see
//!   `waiter.rs`: waking a sleeping thread costs far more than a short
//!   spin on these machines); a goroutine never spins.
//! - **Order.** Each channel is FIFO: values from one sender arrive in the
//!   order sent. Waiting receivers are not served in strict arrival order
//!   (a receiver that spins may overtake one that sleeps).
//! - **Non-blocking selects are linearizable**: `try_select`, `select!`
//!   with `default`, a zero or passed time-out, `try_ready` and
//!   `ready_timeout(0)` answer "nothing ready" only when a snapshot proves
//!   that at one instant during the call no arm was ready: two consecutive
//!   looks at every arm find each not ready in the same *version* (a
//!   number that changes whenever the arm may have become ready), so a
//!   value that moves between arms during a look, even back and forth, is
//!   never missed (`select/run.rs`, "Nothing ready"). Go gets the same by
//!   locking all the channels; this takes no lock on the queue flavours,
//!   and retries only while other threads keep changing the arms.
//!
//! # Large messages: send a `Box`
//!
//! A message travels by value through the frames of the operation, and a
//! frame may hold its own copy, so one operation uses a multiple of the
//! message's size of the caller's stack. Measured with
//! `tests/chan_stack_use.rs` (a 64 KiB array, stack reached beyond the
//! caller's, making the message included):
//!
//! | operation | debug | release |
//! |---|---|---|
//! | send, buffered | 21x | 3x |
//! | send, unbounded (first of a block) | 17x | 3x |
//! | send then receive, buffered | 23x | 6x |
//! | rendezvous send / receive, blocking | 18-27x / 13x | 5x / 6x |
//! | `select!` send / receive arm | 16x / 24x | 3x / 7x |
//!
//! A goroutine's stack is small (64 KiB by default), so **a message larger
//! than a few hundred bytes should be sent boxed** (`Sender<Box<T>>`, or a
//! `Vec`): the channel then moves one pointer, and the stack use does not
//! grow with the message. Build the box on the heap directly
//! (`vec![0; n].into_boxed_slice()`, or `Box::new` in a release build,
//! which builds in place): in a debug build `Box::new([0u8; N])` makes the
//! array on the stack first. Otherwise give the goroutine a bigger stack
//! ([`runtime::Options::stack_size`](crate::runtime::Options::stack_size)).
//!
//! ```
//! use baton::chan;
//!
//! let (tx, rx) = chan::bounded::<Box<[u8; 1 << 20]>>(1);
//! // A 1 MiB message through a goroutine's 64 KiB stack: only the pointer
//! // is on it.
//! let h = baton::go(move || {
//!     let msg: Box<[u8; 1 << 20]> = vec![7; 1 << 20].into_boxed_slice().try_into().unwrap();
//!     tx.send(msg).unwrap();
//! });
//! assert_eq!(rx.recv().unwrap()[1 << 19], 7);
//! h.join().unwrap();
//! ```
//!
//! # Every wait ends in a park
//!
//! A wait that depends on another thread or goroutine spins at most
//! briefly and then parks (`crate::park`), and the side that ends the wait
//! unparks the waiter after it has made the change. A goroutine never spins
//! (the one it waits for may need its worker); a thread spins a few
//! microseconds, and stops yielding at once when the machine is busy
//! (`waiter.rs`, the `Spin` policy). The loops that spin without
//! parking are each bounded by a step that the other side takes without
//! parking or running user code in between, stated at each loop:
//!
//! - `waiter.rs` `wait_packet`: the selector stores the packet in the same
//!   spin-locked section as its selecting CAS.
//! - `zero.rs` `wait_for_writer` (after the writer has passed): the writer
//!   stores `ready` right after its swap.
//! - the channel spin lock (`lock.rs`, `park::spin_lock`): sections never
//!   park, yield or run user code, and a goroutine cannot be switched out
//!   inside one.
//! - `array.rs` and `list.rs` (`Backoff::snooze` loops: a slot being
//!   written or read, a block being installed): the other side is between
//!   the two phases of an operation. For plain sends and receives nothing
//!   runs between them; a `select` send arm (issue 10, item 1) and a
//!   `SelectedOperation` held across other code can stretch that window,
//!   which those files' own fixes address.
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
//! The design follows crossbeam-channel's:
//!
//! - `flavors/`: one file per flavour, each a channel type implementing
//!   the one `Flavor` trait (`flavors/mod.rs`). An operation has two
//!   phases — `start_send`/`start_recv` claim a slot, a message or a
//!   waiting counterpart, then `write`/`read` complete — and the plain
//!   operations and `select` use the same pair, so the algorithm for each
//!   flavour is written once. A `Sender`/`Receiver` holds an `AnyFlavor`
//!   and dispatches with one `match` (`with_flavor!`), to the concrete
//!   flavour: no dynamic dispatch on the send and receive paths.
//! - `waiter.rs`: a blocked operation's rendezvous point (the state word
//!   exactly one channel can claim) and the spin-then-park policy.
//! - `waker.rs`: who is blocked on each side of a channel, and the
//!   no-lost-wake-up argument.
//! - `counter.rs`: the sender and receiver counts (the last one out
//!   closes); `lock.rs`: the spin lock of the short critical sections.
//! - `select/`: the select algorithm, the `Select` builder, the macros.
//!
//! ## Invariants of the buffered flavours' slots
//!
//! A slot is *free*, *claimed* (phase 1 done, by exactly one sender or
//! receiver), *written* (holds a value), or *poisoned* (an abandoned send:
//! written with nothing). Only the claimer touches a claimed slot's value;
//! a receiver claims only written or poisoned slots (array) or waits for
//! its claimed slot to become written or poisoned (list) before phase 1
//! returns; poisoned slots are skipped and freed as if read. `Drop` and
//! the last receiver's discard drop exactly the written slots, since safe
//! code can leave a slot claimed forever (`mem::forget`). The stamp and
//! state encodings are in `flavors/array.rs` and `flavors/list.rs`.
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
//!   the channel wakers hold per-wait waiters whose state word is claimed
//!   by one CAS (crossbeam's scheme).
//! - **A timer thread for `after`/`tick`**: clock channels compute their
//!   value from the clock when asked, and a waiting receiver parks with
//!   the due time as its deadline; no thread, no heap entry, nothing to
//!   leak when a timer is dropped unread.

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
mod waiter;
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

use crate::shim::Arc;
use counter::Counted;
use flavors::{array, list, zero, AnyFlavor};

/// A channel holding up to `cap` values (Go's `make(chan T, cap)`);
/// `bounded(0)` is a [`rendezvous`] channel.
///
/// The buffer is allocated once, here.
///
/// # Panics
///
/// If `cap` is out of range — its ring would not fit in memory's address
/// space, or its stamps in a word (Go: "makechan: size out of range") —
/// with a message saying so, in every build.
///
/// ```should_panic
/// let _ = baton::chan::bounded::<u64>(usize::MAX / 2); // capacity out of range
/// ```
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
    halves(array::Channel::with_capacity(cap), AnyFlavor::Array)
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
    halves(zero::Channel::new(), AnyFlavor::Zero)
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
    halves(list::Channel::new(), AnyFlavor::List)
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
        flavor: AnyFlavor::Never(flavors::never::Channel::new()),
    }
}

/// The one sender and one receiver of a new counted channel `chan`
/// (`Counted::new` counts them), held as `variant`.
fn halves<C, T>(chan: C, variant: fn(Arc<Counted<C>>) -> AnyFlavor<T>) -> (Sender<T>, Receiver<T>) {
    let c = Counted::new(chan);
    (
        Sender {
            flavor: variant(c.clone()),
        },
        Receiver { flavor: variant(c) },
    )
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
