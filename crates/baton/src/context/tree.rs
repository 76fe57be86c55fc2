//! The cancellation tree: one [`Node`] per cancellable context, the
//! state machine Go's `context.go` spreads over `cancelCtx.cancel`,
//! `propagateCancel` and `removeChild`, with one change: a child joins
//! its parent's hook table only once something needs to be *told* of its
//! cancellation (lazy attachment, below).
//!
//! # State
//!
//! `state` packs the cancellation and the attachment:
//!
//! | bits | meaning |
//! |---|---|
//! | `DONE_MASK` = `LIVE` (0) | not done; `hooks` open: registrations are accepted and may be withdrawn |
//! | `DONE_MASK` = `CANCELED` | done, [`Error::Canceled`]; `hooks` closed and empty (taken by the canceller) |
//! | `DONE_MASK` = `DEADLINE` | done, [`Error::DeadlineExceeded`]; `hooks` closed and empty |
//! | `ATTACHED` | every cancellable ancestor will push its cancellation to this node (it is registered in its parent, which is attached, and so on up), or it has no cancellable ancestor |
//!
//! The done part leaves `LIVE` exactly once, under the node's lock, in the
//! same critical section that stores the cause, closes `hooks` and takes
//! their contents; `ATTACHED` is set once, under the node's lock, never
//! cleared. So:
//!
//! - **One winner.** Of any number of concurrent `cancel`s (the user's,
//!   the parent's propagation, the deadline timer), exactly one changes
//!   the state; the first error and the first cause win (Go's rule).
//! - **After any `cancel` returns, the node is done**: a loser takes the
//!   lock after the winner's critical section, so it sees the new state.
//! - **No registration is lost or stranded.** A hook registered under the
//!   lock before the transition is taken and run by the canceller; one
//!   that comes after finds `hooks` closed and is handed back to its
//!   owner, who runs it itself (a child attached to a done parent is done
//!   at once; a waiter sees the context done and does not park).
//! - **Withdrawal is exact.** A registration is a generational [`Token`]:
//!   withdrawing it removes that entry and nothing else (a stale token,
//!   one withdrawn twice or one whose node was cancelled, finds nothing).
//!   An attached child cancelled on its own withdraws its entry from its
//!   parent (Go's `removeChild`, `TestCancelRemoves`); a parent's cancel
//!   takes every entry at once, so the children it cancels have nothing
//!   to withdraw.
//!
//! # Lazy attachment
//!
//! Go registers every child in its parent at `WithCancel`, and removes it
//! at `cancel`: two trips through the parent's lock, which every goroutine
//! deriving from a shared parent contends on. Here a new child is
//! *detached*: it only holds its parent. Whether it is done is then "its
//! own state, or else its parent's" ([`err_of`] walks up while the nodes
//! are detached), which is exact, because a detached node's own state
//! only changes by its own cancel (or deadline). The child is attached
//! ([`attach`]: its detached ancestors first, top down, then itself) only
//! when something must be woken by its cancellation: a done channel, a
//! waiter, an `after_func`, or an attached child of its own. A context
//! that is derived and cancelled without being waited on (the common case
//! of a short call given a context it never blocks on) never touches its
//! parent's lock.
//!
//! The price: a detached child's own resources (its deadline's timer
//! entry) are released by its own cancel (its `CancelFunc` called or
//! dropped) or its deadline, not by an ancestor's cancel, which never
//! reaches it; its `err()` costs one load per detached level.
//!
//! A detached node that is cancelled while an ancestor is already done
//! takes that ancestor's error and cause (the ancestor's cancel came
//! first: Go would have propagated it already). [`cause_of`] walks the same
//! way.
//!
//! Hooks run **after** the lock is released (a hook may cancel a child,
//! wake a parked waiter, close a done channel or start an `after_func`
//! goroutine; none of these may run under the node's lock). Descendants
//! are cancelled, and chains attached, with explicit loops, not recursion,
//! so a chain of a million contexts cannot overflow a goroutine's stack.
//!
//! # Orderings
//!
//! `state`'s done part is stored with `Release` inside the critical
//! section and read with `Acquire` ([`Node::check`]): whoever sees a done
//! state sees what the canceller wrote before it (the cause, and anything
//! the cancelling code did before calling cancel). A live reading is a
//! snapshot: the context may be cancelled a moment later, as with Go's
//! `ctx.Err()`. A reader that sees `ATTACHED` may trust the node's own
//! state (up to the moment a parent's cancel is propagating, as in Go);
//! one that does not walks up, which is always correct, so `ATTACHED` needs
//! no ordering of its own. Everything else (the hooks, the cause, the
//! parent token) is read and written under the lock, whose
//! `Acquire`/`Release` orders it.
//!
//! Lock order: a node's lock is only ever taken with no other node lock
//! held, except in [`attach`], which registers a child in its parent while
//! holding the child's lock (child, then parent). No path takes a parent's
//! lock and then a child's: a cancel releases its node's lock before it
//! touches the parent's (withdrawal) or a child's (propagation). So no
//! cycle of waits can form.

use crate::park::Unparker;
use crate::shim::atomic::{AtomicU8, AtomicUsize, Ordering};
use crate::shim::Arc;
use crate::sync::Mutex;

use super::error::{Cause, Error};

const LIVE: u8 = 0;
const CANCELED: u8 = 1;
const DEADLINE: u8 = 2;
/// The done part of `state`.
const DONE_MASK: u8 = 0b11;
/// Set once the node's ancestors will push their cancellation to it.
const ATTACHED: u8 = 0b100;

/// What owns a node: a cancellable context (and, in the loom models, a
/// stand-in). The tree reaches a node's parent through its owner (the
/// context holds its parent strongly), so a child needs no reference of
/// its own to the parent's node, and the node lives inside the context's
/// one allocation.
pub(crate) trait Member: Send + Sync {
    /// This member's node.
    fn node(&self) -> &Node;
    /// The member whose node this one is registered in as a child (its
    /// nearest cancellable ancestor), if any. Alive as long as `self` is.
    fn parent(&self) -> Option<&dyn Member>;
    /// The same, as a shared handle (for registering in it).
    fn parent_ref(&self) -> Option<MemberRef>;
}

/// A shared handle on a member, as a parent's hook table holds its
/// children.
pub(crate) type MemberRef = Arc<dyn Member>;

/// Something to do when a node is cancelled.
pub(crate) enum Hook {
    /// A child context: cancel it with this node's error and cause.
    Child(MemberRef),
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

/// What one look at a node's state says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Done, with this error.
    Done(Error),
    /// Live, and attached: its own state is the answer.
    Live,
    /// Live, but detached: an ancestor may be done.
    AskParent,
}

/// A cancellable context's cancellation state.
pub(crate) struct Node {
    /// The table above. The done part is written only under `locked`'s
    /// lock, once; `ATTACHED` likewise, once; read anywhere.
    state: AtomicU8,
    /// Live cancel functions (`CancelFunc` clones); the last one dropped
    /// cancels. Only counts: `Relaxed` increments, `AcqRel` decrement so
    /// the last dropper sees every other's uses (as `Arc` does).
    cancellers: AtomicUsize,
    /// The hooks, the cause and the registration in the parent. A
    /// `sync::Mutex`, not a spin lock: an attached long-lived parent's
    /// lock is taken by every thread attaching to it, and with more threads
    /// than cores a holder can be preempted; waiters then park instead of
    /// spinning.
    locked: Mutex<Locked>,
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
    /// This node's registration in its parent's node (see
    /// [`Member::parent`]), while attached and not cancelled.
    in_parent: Option<Token>,
}

/// What a successful cancel hands back to run outside the lock.
struct Taken {
    hooks: Vec<Hook>,
    in_parent: Option<Token>,
}

impl Node {
    /// A live node with no registrations; `attached` when it has no
    /// cancellable ancestor (nothing will ever need to push to it).
    pub(crate) fn new(attached: bool) -> Node {
        Node {
            state: AtomicU8::new(if attached { ATTACHED } else { LIVE }),
            cancellers: AtomicUsize::new(0),
            locked: Mutex::new(Locked {
                hooks: Slab::new(),
                permanent: Vec::new(),
                cause: None,
                in_parent: None,
            }),
        }
    }

    #[inline]
    fn with_locked<R>(&self, f: impl FnOnce(&mut Locked) -> R) -> R {
        f(&mut self.locked.lock())
    }

    /// One `Acquire` load: done, live and attached, or live and detached.
    #[inline]
    pub(crate) fn check(&self) -> Check {
        let s = self.state.load(Ordering::Acquire);
        match s & DONE_MASK {
            LIVE if s & ATTACHED != 0 => Check::Live,
            LIVE => Check::AskParent,
            CANCELED => Check::Done(Error::Canceled),
            _ => Check::Done(Error::DeadlineExceeded),
        }
    }

    /// This node's own error (not its ancestors'): `None` while its own
    /// state is live.
    #[inline]
    pub(crate) fn err(&self) -> Option<Error> {
        match self.check() {
            Check::Done(e) => Some(e),
            _ => None,
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

    /// This node's own winning cause once done (the error itself when none
    /// was given).
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
    /// cancellation itself). Only an attached node's hooks run when an
    /// ancestor is cancelled: call [`attach`] first.
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

    /// Live withdrawable registrations (attached children, waiters,
    /// `after_func`s), not the permanent hooks: for tests that check
    /// nothing stays registered.
    pub(crate) fn registrations(&self) -> usize {
        self.with_locked(|l| l.hooks.len())
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
            let attached = self.state.load(Ordering::Relaxed) & ATTACHED;
            // Release: see the module docs (the cause is written first).
            self.state.store(code | attached, Ordering::Release);
            let mut hooks = l.hooks.close();
            if hooks.is_empty() {
                hooks = core::mem::take(&mut l.permanent);
            } else {
                hooks.append(&mut l.permanent);
                l.permanent = Vec::new();
            }
            Some(Taken {
                hooks,
                in_parent: l.in_parent.take(),
            })
        })
    }
}

/// Whether `member` is done: its own state, or, while it is detached, its
/// ancestors' (the first done one up the chain). One load for an attached
/// node.
/// (`Context::err` walks the same way on the concrete type; the loom
/// models use this.)
#[inline]
#[cfg_attr(not(loom), allow(dead_code))]
pub(crate) fn err_of(member: &dyn Member) -> Option<Error> {
    let mut at = member;
    loop {
        match at.node().check() {
            Check::Done(e) => return Some(e),
            Check::Live => return None,
            Check::AskParent => at = at.parent()?,
        }
    }
}

/// The member whose cancellation `member` shows: itself if its own state
/// is done, else (while detached) the first done ancestor.
fn done_source(member: &dyn Member) -> Option<&dyn Member> {
    let mut at = member;
    loop {
        match at.node().check() {
            Check::Done(_) => return Some(at),
            Check::Live => return None,
            Check::AskParent => at = at.parent()?,
        }
    }
}

/// The cause of `member`'s cancellation (see [`done_source`]), `None` while
/// live.
pub(crate) fn cause_of(member: &dyn Member) -> Option<Cause> {
    done_source(member)?.node().cause()
}

/// Attaches `member` (Go's `propagateCancel` for a parent that is a
/// `cancelCtx`), so that its ancestors' cancels reach its hooks: its
/// detached ancestors first, from the top down, then itself. A parent that
/// is already done cancels the child at once with its own error and
/// cause. Idempotent; cheap once attached.
pub(crate) fn attach(member: &MemberRef) {
    if member.node().state.load(Ordering::Relaxed) & ATTACHED != 0 {
        return;
    }
    // The detached chain, bottom up (a loop: the chain may be long).
    let mut chain = vec![MemberRef::clone(member)];
    while let Some(p) = chain.last().and_then(|m| m.parent_ref()) {
        if p.node().state.load(Ordering::Relaxed) & ATTACHED != 0 {
            break;
        }
        chain.push(p);
    }
    for m in chain.iter().rev() {
        attach_one(m);
    }
}

/// Registers one member in its parent (whose own attachment is done).
fn attach_one(child: &MemberRef) {
    let node = child.node();
    // Under the child's lock, so two attachers do not both register it,
    // and a cancel of the child cannot slip between (child, then parent:
    // see the lock order in the module docs).
    let refused = node.with_locked(|l| {
        if node.state.load(Ordering::Relaxed) & ATTACHED != 0 || l.hooks.is_closed() {
            return None; // attached already, or done (nothing to tell it)
        }
        let Some(parent) = child.parent() else {
            node.state.fetch_or(ATTACHED, Ordering::Relaxed);
            return None;
        };
        match parent.node().register(Hook::Child(MemberRef::clone(child))) {
            Ok(token) => {
                l.in_parent = Some(token);
                node.state.fetch_or(ATTACHED, Ordering::Relaxed);
                None
            }
            // The parent is done: the child must be too, outside our lock.
            Err(_) => Some(()),
        }
    });
    if refused.is_some() {
        cancel(&**child, Error::Canceled, None);
    }
}

/// Cancels `member`'s node and its attached descendants with `err` and
/// `cause` (`None`: the error itself, for every descendant too); a
/// detached member whose ancestor is done already takes that ancestor's
/// error and cause instead. Returns whether this call changed the node
/// (false: it was already done, and its first error and cause stand).
pub(crate) fn cancel(member: &dyn Member, err: Error, cause: Option<Cause>) -> bool {
    let (err, cause) = match member.node().check() {
        // Done for good: no need for the lock (the usual case for the last
        // cancel function, dropped after an explicit cancel).
        Check::Done(_) => return false,
        Check::Live => (err, cause),
        Check::AskParent => match member.parent().and_then(done_source) {
            Some(a) => (
                a.node().err().expect("a done source is done"),
                a.node().given_cause(),
            ),
            None => (err, cause),
        },
    };
    let Some(taken) = member.node().take(err, &cause) else {
        return false;
    };
    let mut work = Vec::new();
    run(member, taken, &mut work);
    while let Some(child) = work.pop() {
        if let Some(taken) = child.node().take(err, &cause) {
            run(&*child, taken, &mut work);
        }
    }
    true
}

/// Runs what a cancel of `member` took, outside any lock: withdraws from
/// the parent, wakes waiters, runs callbacks, and queues children on
/// `work`.
fn run(member: &dyn Member, taken: Taken, work: &mut Vec<MemberRef>) {
    if let (Some(token), Some(parent)) = (taken.in_parent, member.parent()) {
        // Nothing if the parent's own cancel took the entry already.
        drop(parent.node().withdraw(token));
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
