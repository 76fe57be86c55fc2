//! Layer 2: epoch-based memory reclamation.
//!
//! A lock-free structure cannot free a node the moment it unlinks it:
//! another thread may have loaded a pointer to the node just before and be
//! about to read it. Epoch-based reclamation (Fraser, 2004; crossbeam-epoch
//! in Rust) defers the free until every thread that could hold such a
//! pointer has moved on.
//!
//! ```
//! use baton::epoch::{self, Atomic, Owned};
//! use std::sync::atomic::Ordering::{AcqRel, Acquire};
//!
//! let config = Atomic::new(String::from("v1"));
//!
//! // Reader: pin, load, use; the value stays alive while the guard does.
//! let guard = epoch::pin();
//! // SAFETY: values are retired only after being unlinked (below).
//! let seen = unsafe { config.load(Acquire, &guard).deref() };
//! assert_eq!(seen, "v1");
//!
//! // Writer: swap in a new value, retire the old one.
//! let old = config.swap(Owned::new(String::from("v2")), AcqRel, &guard);
//! // SAFETY: `old` is unlinked and retired exactly once.
//! unsafe { guard.defer_destroy(old) };
//! assert_eq!(seen, "v1"); // still valid: we are pinned
//! drop(guard);
//! # drop(unsafe { config.into_owned() });
//! ```
//!
//! ## The parts
//!
//! | item | role |
//! |---|---|
//! | [`pin`] → [`Guard`] | enter a critical section in the default collector; pointers loaded under the guard stay valid until it drops |
//! | [`Guard::defer_destroy`], [`Guard::defer`] | retire garbage: freed (run) once no guard can see it |
//! | [`Guard::flush`] | hand this thread's garbage over and collect now |
//! | [`pending`], [`Collector::pending`] | how much garbage waits |
//! | [`Atomic`], [`Owned`], [`Shared`] | pointers in the style of crossbeam-epoch (no tag bits) |
//! | [`Collector`], [`LocalHandle`] | an explicit domain and a thread's registration in it |
//! | [`unprotected`] | a guard for code with exclusive access (`Drop`) |
//!
//! ## How it works
//!
//! - A **global epoch** counter. Each registered thread (a *participant*)
//!   has a slot in the collector's participant list with an **epoch word**:
//!   "pinned in epoch `e`", or "not pinned" (table in `local.rs`).
//! - [`pin`] copies the global epoch into the thread's word with the pinned
//!   bit, then fences. Dropping the last guard clears the bit.
//! - Retired garbage goes into the thread's own **bag** (63 entries, no
//!   locking). A full bag is **sealed** — stamped with the global epoch read
//!   after a fence — and pushed to the collector's intake.
//! - Every 128 pins a thread **collects**: it tries to **advance** the
//!   global epoch from `g` to `g + 1`, which succeeds only if every pinned
//!   participant is pinned in `g`; then it runs the sealed bags whose stamp
//!   `s` satisfies `g_now >= s + 2`.
//!
//! Three epochs are in rotation: a pinned thread is in the global epoch `g`
//! or, having pinned before the last advance, in `g - 1` (or it read an
//! older epoch, which only holds advancing back). Garbage sealed in `g - 2`
//! or earlier is beyond the reach of both groups, so at any moment garbage
//! falls into three classes: `g` and `g - 1` (may still be seen) and
//! `<= g - 2` (free it).
//!
//! ## Invariants
//!
//! 1. The global epoch only grows, by one per successful advance (a CAS
//!    from the value the advancer scanned against, so a stale advancer
//!    cannot move it back).
//! 2. The global epoch moves from `g` to `g + 1` only after a scan in which
//!    every participant was unpinned or pinned in `g`.
//! 3. A sealed bag's stamp is read after its garbage was unlinked, with a
//!    `SeqCst` fence between.
//! 4. A bag stamped `s` runs only after the collector read a global epoch
//!    `>= s + 2`.
//! 5. A participant slot is owned by at most one thread; slots are never
//!    freed while the collector lives (a thread's exit frees its slot for
//!    the next thread to register), so scanning needs no protection.
//!
//! ## Why nothing is freed too early (proof sketch)
//!
//! Take an object `X` that writer `W` unlinks and retires, its bag sealed
//! with stamp `s`, and a reader `R` that pins (store of its epoch word
//! with value `l`, then fence `F_R`) and then loads pointers. `W`'s seal
//! has fence `F_W` after the unlink, then reads the global epoch `s`. All
//! `SeqCst` fences are totally ordered (C++20 `[atomics.order]`: the order
//! `S` agrees with coherence between fenced accesses).
//!
//! - If `F_W` precedes `F_R` in `S`: the unlink (before `F_W`) is visible
//!   to every load `R` makes after `F_R`, so `R` cannot find `X`.
//! - If `F_R` precedes `F_W`: first, `l <= s` (had `R` read a later epoch
//!   than `W`, coherence would put `F_W` before `F_R`). Freeing `X` needs
//!   an advance from `s + 1` to `s + 2` by some thread `A`; `A` read
//!   `s + 1`, which comes after `W`'s read of `s`, so `F_W` — and hence
//!   `F_R` — precedes `A`'s fence, and `A`'s scan sees `R`'s pinned word.
//!   As `l <= s < s + 1`, `A` does not advance while `R` stays pinned.
//!   When `R` unpins (a Release store), the advancer that sees it unpinned
//!   acquires it (Acquire fence after the scan), publishes the new epoch
//!   with Release, and the collector reads that epoch before running the
//!   bag (a Relaxed load followed by a `SeqCst` fence, which acquires): so
//!   every access `R` made while pinned happens-before the free.
//!
//! Nested guards change nothing (only the outermost pin and unpin touch the
//! word). A thread that reads a stale global epoch when pinning is covered
//! by the same argument: its `l` is smaller, which only blocks advancing.
//!
//! ## Orderings
//!
//! | where | ordering | why |
//! |---|---|---|
//! | `pin`: load global epoch | Relaxed | a stale value is safe (see above); the fence orders the rest |
//! | `pin`: store epoch word, then fence | Relaxed + `SeqCst` fence | the **store-load** pattern: our later pointer loads must not be satisfied before the store is visible. Release orders only *earlier* accesses before a store, and Acquire only *later* ones after a load; nothing but a `SeqCst` fence (or `SeqCst` on both sides) orders a store before a later load. On x86 this is the one `mfence` in a pin |
//! | unpin: store epoch word | Release | the critical section's reads happen-before an advancer that sees us unpinned |
//! | `try_advance`: load global, fence | Relaxed + `SeqCst` fence | pairs with the pin fence and the seal fence (the cases of the proof); also acquires the epoch we read |
//! | `try_advance`: scan epoch words | Relaxed, then `Acquire` fence | one fence instead of an Acquire per slot |
//! | `try_advance`: CAS global | Release / Relaxed | publishes the acquired critical sections to collectors |
//! | seal: fence, load global | `SeqCst` fence + Relaxed | invariant 3 |
//! | intake push / take | Release CAS / Acquire swap | the bag's contents travel with it |
//! | `collecting` try-lock | Acquire CAS / Release store | the backlog is edited by one thread at a time |
//! | participant push / walk | Release CAS / Acquire load | a slot's fields are visible before it is |
//! | slot claim / give back | Acquire CAS / Release store | the next owner sees the previous owner's state |
//! | `pending` counters | Relaxed | statistics |
//!
//! Fences left out: crossbeam pins on x86 with a `SeqCst` compare-exchange
//! instead of store + `mfence` (a locked instruction is a full barrier on
//! x86 and somewhat cheaper). That argument is about the hardware, not the
//! language's memory model, and loom could not check it (loom models
//! `fence(SeqCst)` but treats `SeqCst` accesses as `AcqRel`), so baton keeps
//! the fence everywhere.
//!
//! ## Memory held back, and how to see it
//!
//! While any thread stays pinned, the epoch advances at most once more, so
//! nothing retired after its pin is freed until it unpins: garbage grows
//! linearly with the retirement rate of all the other threads, without
//! bound. Each retired object costs its own allocation (a stack node: the
//! value plus one pointer) plus a 16-byte entry in a bag (a sealed bag is
//! 1,032 bytes for 63 entries, to fit glibc's per-thread cache: see
//! `bag.rs`). Measured by `tests/epoch_memory.rs`
//! (counting allocator, requested bytes; the allocator's own rounding
//! comes on top): with one thread pinned, another thread that pushes and
//! pops a `Stack<u64>` 100,000 times leaves exactly 100,000 nodes pending,
//! **32.4 bytes each** (16 for the node, 16.4 for its share of a bag), 3.2 MB in
//! all, growing by 32 bytes per pop for as long as the pin lasts.
//! Once the pinned thread lets go, the next 3,424 push/pop pairs (3,424
//! pins: a pop pins, a push does not; 27 collections of at most 64 bags
//! each, one every 128 pins; measured with 64-entry bags) bring the pending
//! count back to the steady state of a busy thread, a bag or three (63-189
//! entries).
//! [`pending`] (or [`Collector::pending`]) exposes the count, and
//! [`Collector::epoch`] shows a stalled epoch.
//!
//! A second, bounded, cost: a thread's own bag is handed over only when
//! it fills (63 entries), when the thread calls [`Guard::flush`], or when
//! it exits; a thread that retired a few objects and then idles keeps up
//! to 62 of them (about 2 KB for stack nodes) until one of those happens.
//! [`pending`] counts them too.
//!
//! Usage rules, then: keep guards short; never block (channel receive,
//! lock, sleep, I/O) while holding one; pin once around a batch of
//! operations rather than per pointer load; a subsystem that must pin for
//! long can use its own [`Collector`], which holds back only its own
//! garbage.
//!
//! ## Alternatives rejected
//!
//! - **Hazard pointers** bound garbage even with stalled readers, but every
//!   pointer load needs a store plus a fence and a re-check; epochs pay one
//!   fence per pin, which suits short operations on hot structures.
//! - **Three per-thread bags indexed by epoch** (Fraser's original) free a
//!   thread's garbage only when that thread runs again; sealing bags to a
//!   shared intake lets any thread free anyone's garbage, so an idle thread
//!   does not keep its garbage forever.
//! - **A lock-free queue of sealed bags** (crossbeam) itself needs epoch
//!   protection; baton's push-only intake plus a try-locked backlog (see
//!   `global.rs`) has no ABA problem and needs none.

mod bag;
mod collector;
mod default;
mod global;
mod guard;
mod local;
mod pointers;

pub use collector::{Collector, LocalHandle};
pub use default::{default_collector, is_pinned, pending, pin};
pub use guard::{unprotected, Guard};
pub use pointers::{Atomic, CompareExchangeError, Owned, Pointer, Shared};

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
