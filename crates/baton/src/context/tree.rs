//! The cancellation tree: one [`Node`] per cancellable context, the
//! state machine Go's `context.go` spreads over `cancelCtx.cancel`,
//! `propagateCancel` and `removeChild`.
//!
//! # State
//!
//! | `state` | meaning | `hooks` |
//! |---|---|---|
//! | `LIVE` | not done | open: registrations are accepted and may be withdrawn |
//! | `CANCELED` | done, [`Error::Canceled`] | closed and empty: taken by the canceller |
//! | `DEADLINE` | done, [`Error::DeadlineExceeded`] | closed and empty |
//!
//! `state` leaves `LIVE` exactly once, under the node's lock, in the same
//! critical section that stores the cause, closes `hooks` and takes their
//! contents. So:
//!
//! - **One winner.** Of any number of concurrent `cancel`s (the user's,
//!   the parent's propagation, the deadline timer), exactly one changes
//!   the state; the first error and the first cause win (Go's rule).
//! - **After any `cancel` returns, the node is done**: a loser takes the
//!   lock after the winner's critical section, so it sees the new state.
//! - **No registration is lost or stranded.** A hook registered under the
//!   lock before the transition is taken and run by the canceller; one
//!   that comes after finds `hooks` closed and is handed back to its
//!   owner, who runs it itself (a child created from a done parent is
//!   done at once; a waiter sees the context done and does not park).
//! - **Withdrawal is exact.** A registration is a generational [`Token`]:
//!   withdrawing it removes that entry and nothing else (a stale token,
//!   one withdrawn twice or one whose node was cancelled, finds nothing).
//!   A child cancelled on its own withdraws its entry from its parent
//!   (Go's `removeChild`, `TestCancelRemoves`); a parent's cancel takes
//!   every entry at once, so the children it cancels have nothing to
//!   withdraw.
//!
//! Hooks run **after** the lock is released (a hook may cancel a child,
//! wake a parked waiter, close a done channel or start an `after_func`
//! goroutine; none of these may run under a spin lock). Descendants are
//! cancelled with an explicit work list, not recursion, so a chain of a
//! million contexts cannot overflow a goroutine's stack.
//!
//! # Orderings
//!
//! `state` is stored with `Release` inside the critical section and read
//! with `Acquire` by [`Node::err`]: whoever sees a done state sees what
//! the canceller wrote before it (the cause, and anything the cancelling
//! code did before calling cancel). A live reading is a plain snapshot:
//! the context may be cancelled a moment later, as with Go's `ctx.Err()`.
//! Everything else (the hooks, the cause, the parent link) is read and
//! written under the lock, whose `Acquire`/`Release` orders it; no fence
//! is needed beyond the lock's.
//!
//! Lock order: never two node locks at once. A cancel releases its node's
//! lock before it touches the parent's (withdrawal) or a child's
//! (propagation), so no cycle of waits can form.

use crate::park::spin_lock::SpinLock;
use crate::park::Unparker;
use crate::shim::atomic::{AtomicU8, AtomicUsize, Ordering};
use crate::shim::{Arc, UnsafeCell};

use super::error::{Cause, Error};

const LIVE: u8 = 0;
const CANCELED: u8 = 1;
const DEADLINE: u8 = 2;

/// Something to do when a node is cancelled.
pub(crate) enum Hook {
    /// A child context: cancel it with this node's error and cause.
    Child(Arc<Node>),
    /// A parked waiter (a context-taking blocking call): wake it.
    Unpark(Unparker),
    /// Run this (a done channel's sender being dropped, an `after_func`
    /// being started, a deadline timer being withdrawn).
    Run(Box<dyn FnOnce() + Send>),
}

/// A registration in a node's hook table, for [`Node::withdraw`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    index: u32,
    /// Unique per slab for its life (a 64-bit count of insertions), so a
    /// token never matches a later entry in a reused slot.
    generation: u64,
}

/// A cancellable context's cancellation state.
pub(crate) struct Node {
    /// `LIVE`, `CANCELED` or `DEADLINE` (the table above). Written only
    /// under `lock`, once; read anywhere.
    state: AtomicU8,
    /// Live cancel functions (`CancelFunc` clones); the last one dropped
    /// cancels. Only counts: `Relaxed` increments, `AcqRel` decrement so
    /// the last dropper sees every other's uses (as `Arc` does).
    cancellers: AtomicUsize,
    /// Guards `locked`.
    lock: SpinLock,
    /// Only touched with `lock` held.
    locked: UnsafeCell<Locked>,
}

/// The part of a node guarded by its lock.
struct Locked {
    /// Open while live; closed (and empty) once cancelled.
    hooks: Slab,
    /// Hooks that stay until the cancel and are never withdrawn (a done
    /// channel's sender, a deadline's disarm): the node's own, not
    /// registrations that others hold, so not counted.
    permanent: Vec<Hook>,
    /// Set once, by the cancel that wins; `None` there means "the error
    /// itself" (made into a `Cause` when asked for, so a plain cancel
    /// allocates nothing).
    cause: Option<Cause>,
    /// Where this node is registered as a child, until it is cancelled.
    parent: Option<(Arc<Node>, Token)>,
}

/// What a successful cancel hands back to run outside the lock.
struct Taken {
    hooks: Vec<Hook>,
    parent: Option<(Arc<Node>, Token)>,
}

// SAFETY: `locked` is only accessed with `lock` held (every access goes
// through `Node::with_locked`), so the node is a mutex around `Locked`,
// whose contents (`Arc<Node>`, `Unparker`, boxed `Send` closures, a
// `Send + Sync` cause) are all `Send`.
unsafe impl Send for Node {}
// SAFETY: as above: shared access never touches `locked` without the lock.
unsafe impl Sync for Node {}

impl Node {
    /// A live node with no registrations and no parent.
    pub(crate) fn new() -> Arc<Node> {
        Arc::new(Node {
            state: AtomicU8::new(LIVE),
            cancellers: AtomicUsize::new(0),
            lock: SpinLock::new(),
            locked: UnsafeCell::new(Locked {
                hooks: Slab::new(),
                permanent: Vec::new(),
                cause: None,
                parent: None,
            }),
        })
    }

    #[inline]
    fn with_locked<R>(&self, f: impl FnOnce(&mut Locked) -> R) -> R {
        let _guard = self.lock.lock();
        // SAFETY: the lock is held for the whole call, so this is the only
        // access to `locked` (see the `Send`/`Sync` impls).
        self.locked.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// `None` while live, else why the node is done. One `Acquire` load.
    #[inline]
    pub(crate) fn err(&self) -> Option<Error> {
        match self.state.load(Ordering::Acquire) {
            LIVE => None,
            CANCELED => Some(Error::Canceled),
            _ => Some(Error::DeadlineExceeded),
        }
    }

    /// One more cancel function.
    pub(crate) fn add_canceller(&self) {
        self.cancellers.fetch_add(1, Ordering::Relaxed);
    }

    /// One cancel function fewer; `true` if it was the last.
    pub(crate) fn drop_canceller(&self) -> bool {
        self.cancellers.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// The winning cause once done (the error itself when none was given).
    pub(crate) fn cause(&self) -> Option<Cause> {
        let err = self.err()?;
        let given = self.with_locked(|l| l.cause.clone());
        Some(given.unwrap_or_else(|| std::sync::Arc::new(err) as Cause))
    }

    /// The cause a cancel passes on to descendants: the given one, `None`
    /// for "the error itself".
    fn given_cause(&self) -> Option<Cause> {
        self.with_locked(|l| l.cause.clone())
    }

    /// Registers `hook`, to run when the node is cancelled; hands it back
    /// when the node is already cancelled (the caller then acts on the
    /// cancellation itself).
    pub(crate) fn register(&self, hook: Hook) -> Result<Token, Hook> {
        self.with_locked(|l| l.hooks.insert(hook))
    }

    /// As [`register`](Self::register), for a hook that is never
    /// withdrawn (it runs at the cancel, or is dropped with the node).
    pub(crate) fn register_permanent(&self, hook: Hook) -> Result<(), Hook> {
        self.with_locked(|l| {
            if l.hooks.is_closed() {
                return Err(hook);
            }
            l.permanent.push(hook);
            Ok(())
        })
    }

    /// Withdraws a registration; `Some(hook)` if it was still there (the
    /// cancel has not taken it, and it was not withdrawn before).
    pub(crate) fn withdraw(&self, token: Token) -> Option<Hook> {
        self.with_locked(|l| l.hooks.remove(token))
    }

    /// Live withdrawable registrations (children, waiters, `after_func`s),
    /// not the permanent hooks: for tests that check nothing stays
    /// registered.
    pub(crate) fn registrations(&self) -> usize {
        self.with_locked(|l| l.hooks.len())
    }

    /// Makes `child` a child of `parent` (Go's `propagateCancel` for a
    /// parent that is a `cancelCtx`): a parent already done cancels the
    /// child at once with its own error and cause.
    pub(crate) fn attach(parent: &Arc<Node>, child: &Arc<Node>) {
        match parent.register(Hook::Child(Arc::clone(child))) {
            Ok(token) => {
                let stranded = child.with_locked(|l| {
                    if l.hooks.is_closed() {
                        // Cancelled already (by the parent, between the two
                        // locks): nothing to withdraw later.
                        Some(token)
                    } else {
                        l.parent = Some((Arc::clone(parent), token));
                        None
                    }
                });
                if let Some(token) = stranded {
                    parent.withdraw(token);
                }
            }
            Err(_) => {
                let err = parent.err().expect("a closed node is done");
                child.cancel(err, parent.given_cause());
            }
        }
    }

    /// Cancels the node and its descendants with `err` and `cause`
    /// (`None`: the error itself, for every descendant too). Returns whether this call did it (false:
    /// it was already done, and its first error and cause stand).
    pub(crate) fn cancel(&self, err: Error, cause: Option<Cause>) -> bool {
        if self.state.load(Ordering::Acquire) != LIVE {
            // Done for good: no need for the lock (the usual case for the
            // last cancel function, dropped after an explicit cancel).
            return false;
        }
        let Some(taken) = self.take(err, &cause) else {
            return false;
        };
        let mut work = Vec::new();
        run(taken, &mut work);
        while let Some(child) = work.pop() {
            if let Some(taken) = child.take(err, &cause) {
                run(taken, &mut work);
            }
        }
        true
    }

    /// The transition: under the lock, `LIVE` to done, the cause stored,
    /// the hooks closed and taken.
    fn take(&self, err: Error, cause: &Option<Cause>) -> Option<Taken> {
        self.with_locked(|l| {
            if l.hooks.is_closed() {
                return None;
            }
            l.cause.clone_from(cause);
            let code = match err {
                Error::Canceled => CANCELED,
                Error::DeadlineExceeded => DEADLINE,
            };
            // Release: see the module docs (the cause is written first).
            self.state.store(code, Ordering::Release);
            let mut hooks = l.hooks.close();
            if hooks.is_empty() {
                hooks = core::mem::take(&mut l.permanent);
            } else {
                hooks.append(&mut l.permanent);
                l.permanent = Vec::new();
            }
            Some(Taken {
                hooks,
                parent: l.parent.take(),
            })
        })
    }
}

/// Runs what a cancel took, outside any lock: withdraws from the parent,
/// wakes waiters, runs callbacks, and queues children on `work`.
fn run(taken: Taken, work: &mut Vec<Arc<Node>>) {
    if let Some((parent, token)) = taken.parent {
        // Nothing if the parent's own cancel took the entry already.
        drop(parent.withdraw(token));
    }
    for hook in taken.hooks {
        match hook {
            Hook::Child(child) => work.push(child),
            Hook::Unpark(u) => u.unpark(),
            Hook::Run(f) => f(),
        }
    }
}

/// A slab of hooks with generational tokens; `closed` once taken.
struct Slab {
    entries: Vec<Entry>,
    /// The generation the next insertion gets.
    next_generation: u64,
    /// Head of the free list (`u32::MAX`: none).
    free: u32,
    len: usize,
    closed: bool,
}

enum Entry {
    Occupied { generation: u64, hook: Hook },
    Vacant { next: u32 },
}

/// Past this many empty slots, an emptied slab gives its memory back.
const SLAB_KEEP: usize = 64;

impl Slab {
    const fn new() -> Self {
        Slab {
            entries: Vec::new(),
            next_generation: 0,
            free: u32::MAX,
            len: 0,
            closed: false,
        }
    }

    fn is_closed(&self) -> bool {
        self.closed
    }

    fn len(&self) -> usize {
        self.len
    }

    fn insert(&mut self, hook: Hook) -> Result<Token, Hook> {
        if self.closed {
            return Err(hook);
        }
        self.len += 1;
        let generation = self.next_generation;
        self.next_generation += 1;
        if self.free != u32::MAX {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            let Entry::Vacant { next } = *entry else {
                unreachable!("baton::context: the hook free list points at an occupied slot");
            };
            self.free = next;
            *entry = Entry::Occupied { generation, hook };
            return Ok(Token { index, generation });
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&i| i != u32::MAX)
            .expect("baton::context: more than 4 billion registrations on one context");
        self.entries.push(Entry::Occupied { generation, hook });
        Ok(Token { index, generation })
    }

    fn remove(&mut self, token: Token) -> Option<Hook> {
        let entry = self.entries.get_mut(token.index as usize)?;
        match entry {
            Entry::Occupied { generation, .. } if *generation == token.generation => {}
            _ => return None,
        }
        let vacant = Entry::Vacant { next: self.free };
        let Entry::Occupied { hook, .. } = core::mem::replace(entry, vacant) else {
            unreachable!()
        };
        self.free = token.index;
        self.len -= 1;
        if self.len == 0 && self.entries.len() > SLAB_KEEP {
            // Safe to forget the slots: generations keep counting, so no
            // old token can match a new entry.
            self.entries = Vec::new();
            self.free = u32::MAX;
        }
        Some(hook)
    }

    /// Closes the slab and takes every hook, in registration-slot order.
    fn close(&mut self) -> Vec<Hook> {
        self.closed = true;
        if self.entries.is_empty() {
            return Vec::new(); // the common case: a leaf context
        }
        self.free = u32::MAX;
        self.len = 0;
        core::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|e| match e {
                Entry::Occupied { hook, .. } => Some(hook),
                Entry::Vacant { .. } => None,
            })
            .collect()
    }
}
