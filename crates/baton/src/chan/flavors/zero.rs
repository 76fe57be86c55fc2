//! The rendezvous flavour (`bounded(0)`): no buffer; a send completes only
//! when a receiver takes the value, hand to hand (crossbeam's zero flavour,
//! Go's unbuffered channel).
//!
//! # Invariants (all under `inner`'s lock)
//!
//! - At least one of `senders` and `receivers` has no selector that could
//!   be selected: whoever arrives while a counterpart waits pairs with it
//!   instead of queueing (Go: "at least one of c.sendq and c.recvq is
//!   empty"). A select may briefly have entries on both sides of one
//!   channel; it never pairs with itself (the `except` argument).
//! - A waiting operation has a *packet*: where the value travels. A blocked
//!   `send` puts its value in a packet on its own stack; a blocked `recv`
//!   offers an empty packet on its stack; a `select` arm registers an empty
//!   packet on the heap (it must not consume its value unless chosen, and
//!   its stack slot is shared by many arms).
//! - Whoever pairs with a waiter selects its waiter under the lock, then,
//!   after releasing the lock, moves the value through the packet and sets
//!   the packet's `ready` flag. The waiter does not leave (pop the packet's
//!   stack frame) before `ready` is set, and the pairer touches the packet
//!   no more after setting it: the waiter's wake-up comes through its own
//!   reference-counted waiter.
//! - A heap packet is freed by its reader (after `ready`), or by its owner
//!   when the arm is unregistered without being chosen.
//! - A paired send may be *abandoned* (its `SelectedOperation` dropped or
//!   unwound): the packet is then marked `ready` with no value, and the
//!   receiver tries again — a blocked `recv` keeps its own deadline, a
//!   selected receive waits for the next sender. A *forgotten* paired
//!   operation leaves its partner waiting (as a forgotten lock guard).
//!
//! # Orderings
//!
//! `ready` is stored with `Release` after the value moved and loaded with
//! `Acquire` before it is used or the frame is left, so the value (or its
//! absence) is visible. The rest is ordered by the lock and by the waiter
//! (`waiter.rs`).

use core::marker::PhantomData;
use core::ptr;
use std::time::Instant;

use crate::atomic::Backoff;
use crate::park::{Parker, Unparker};
use crate::shim::atomic::{AtomicBool, AtomicPtr, Ordering};
use crate::shim::{Arc, UnsafeCell};

use super::super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError};
use super::super::lock::SpinMutex;
use super::super::waiter::{wait_done, Operation, Selected, Waiter, WaiterState};
use super::super::waker::{unpark_all, Waker};
use super::{Flavor, Probe, Token};

/// Where a value travels between the two sides (see the invariants).
struct Packet<T> {
    /// On the waiter's stack (`true`) or heap-allocated by a select arm.
    on_stack: bool,
    /// Set once the value has moved (or been taken).
    ready: AtomicBool,
    /// The value, when in flight.
    msg: UnsafeCell<Option<T>>,
    /// Heap packets only: the reader waiting for a select's send arm to
    /// write (a boxed `Unparker`, owned by whoever swaps it out), null, or
    /// `DONE` once the writer has passed (see `write` and `read`).
    waiter: AtomicPtr<Unparker>,
}

/// `waiter` after the writer looked: nobody needs waking any more.
fn done<U>() -> *mut U {
    ptr::NonNull::dangling().as_ptr()
}

impl<T> Packet<T> {
    fn on_stack(msg: Option<T>) -> Packet<T> {
        Packet {
            on_stack: true,
            ready: AtomicBool::new(false),
            msg: UnsafeCell::new(msg),
            waiter: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn empty_on_heap() -> Box<Packet<T>> {
        Box::new(Packet {
            on_stack: false,
            ready: AtomicBool::new(false),
            msg: UnsafeCell::new(None),
            waiter: AtomicPtr::new(ptr::null_mut()),
        })
    }

    /// Whether the other side has moved the value.
    #[inline]
    fn is_ready(&self) -> bool {
        // Acquire: see the module docs.
        self.ready.load(Ordering::Acquire)
    }

    /// Waits until the other side has moved the value, the waiter
    /// having been selected: a short spin, then a park (see
    /// `waiter::wait_done`). The pairer sets `ready` and *then* unparks
    /// the waiter, so the park always ends. It cannot wait by spinning:
    /// the pairer may be a select that claimed us and then runs user code
    /// (or parks) before it writes, maybe a goroutine on our own worker.
    fn wait_ready(&self, cx: &Waiter) {
        cx.wait_done(|| self.is_ready());
    }

    /// Takes the value out (owner, after `ready`, or before anyone paired).
    fn take(&self) -> Option<T> {
        // SAFETY: only one side touches `msg` at a time: the pairer before
        // `ready`, the owner after it (or when nobody paired).
        self.msg.with_mut(|p| unsafe { (*p).take() })
    }
}

/// A paired counterpart: its packet (null: the channel is closed) and the
/// waiter to wake once the value has moved.
#[derive(Debug, Default)]
pub(crate) struct ZeroToken {
    packet: Option<ptr::NonNull<()>>,
    cx: Option<Arc<WaiterState>>,
}

struct Inner {
    senders: Waker,
    receivers: Waker,
    is_closed: bool,
}

/// A rendezvous channel (see the module docs).
pub(crate) struct Channel<T> {
    inner: SpinMutex<Inner>,
    _marker: PhantomData<T>,
}

// SAFETY: values move between threads through packets (`T: Send`); a packet
// is touched by one side at a time (invariants).
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        Channel {
            inner: SpinMutex::new(Inner {
                senders: Waker::default(),
                receivers: Waker::default(),
                is_closed: false,
            }),
            _marker: PhantomData,
        }
    }

    /// Puts `msg` (`None`: an abandoned send) in the paired receiver's
    /// packet, marks it ready and wakes the receiver.
    ///
    /// # Safety
    ///
    /// `packet` is the token's paired packet, completed once.
    unsafe fn complete_send(token: &mut ZeroToken, packet: ptr::NonNull<()>, msg: Option<T>) {
        // SAFETY: the receiver keeps its packet alive until `ready`.
        let packet = unsafe { packet.cast::<Packet<T>>().as_ref() };
        if let Some(msg) = msg {
            // SAFETY: paired: we are the only side touching `msg` before
            // `ready`.
            packet.msg.with_mut(|p| unsafe { *p = Some(msg) });
        }
        // A select's send arm writing its own heap packet: a reader may be
        // parked waiting for it (see `read`). AcqRel: we see its unparker
        // fully written, and it sees `DONE` if it comes later.
        let waiter = if packet.on_stack {
            ptr::null_mut()
        } else {
            packet.waiter.swap(done(), Ordering::AcqRel)
        };
        // Release: the value is visible to the receiver (module docs). From
        // here on the packet may be gone.
        packet.ready.store(true, Ordering::Release);
        if !waiter.is_null() {
            // SAFETY: a non-null, non-DONE waiter is a boxed unparker that
            // the reader handed over when its CAS succeeded; we own it now.
            let u = unsafe { Box::from_raw(waiter) };
            u.unpark();
        }
        if let Some(cx) = token.cx.take() {
            cx.unpark();
        }
    }

    /// Phase 2 of a receive: the value, `None` if the paired sender
    /// abandoned its send, `Err` if the channel is closed.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read).
    unsafe fn read_or_abandoned(&self, token: &mut ZeroToken) -> Result<Option<T>, ()> {
        let Some(ptr) = token.packet.take() else {
            return Err(());
        };
        // SAFETY: the sender keeps an on-stack packet alive until `ready`; a
        // heap packet is ours to free once read.
        let packet = unsafe { ptr.cast::<Packet<T>>().as_ref() };
        if packet.on_stack {
            // A blocked send: its value has been there from the start.
            let msg = packet
                .take()
                .expect("a blocked send's packet holds its value");
            packet.ready.store(true, Ordering::Release);
            if let Some(cx) = token.cx.take() {
                cx.unpark();
            }
            Ok(Some(msg))
        } else {
            // A select's send arm: a sender's select that we chose, which
            // must wake up and write, or our own select's receive arm,
            // chosen by a sender that writes after its claim (a select's
            // send arm may run user code in between). Either writer may be
            // a goroutine on our own worker, so we park (not spin) until it
            // has written.
            if let Some(cx) = token.cx.take() {
                wait_for_writer(packet, &cx);
            } else if !packet.is_ready() {
                // The sender holds our select's waiter (its token's `cx`)
                // and unparks it, that is us, after `ready`.
                wait_done(&Parker::current(), || packet.is_ready());
            }
            // Empty: the select's send was abandoned.
            let msg = packet.take();
            // SAFETY: a heap packet is freed by its reader, once.
            drop(unsafe { Box::from_raw(ptr.cast::<Packet<T>>().as_ptr()) });
            Ok(msg)
        }
    }

    /// [`write`](Flavor::write) on the zero-capacity part of a token.
    ///
    /// # Safety
    ///
    /// As [`write`](Flavor::write).
    unsafe fn write_zero(token: &mut ZeroToken, msg: T) -> Result<(), T> {
        let Some(packet) = token.packet else {
            return Err(msg);
        };
        // SAFETY: the caller's contract.
        unsafe { Self::complete_send(token, packet, Some(msg)) };
        Ok(())
    }

    /// One pairing attempt of [`recv`](Self::recv); `None` if the paired
    /// sender abandoned its send.
    fn recv_once(&self, deadline: Option<Instant>) -> Option<Result<T, RecvTimeoutError>> {
        // Only the zero-capacity part of a `Token`: building the whole one
        // cost two `memcpy` calls per receive (issue 15). Its address is
        // the operation's id, unique while it lives like any token's.
        let token = &mut ZeroToken::default();
        let mut inner = self.inner.lock();
        if let Some(e) = inner.senders.try_select(None) {
            token.packet = ptr::NonNull::new(e.packet);
            token.cx = Some(e.cx);
            drop(inner);
            // SAFETY: just paired.
            return unsafe { self.read_or_abandoned(token) }
                .map_err(|()| RecvTimeoutError::Closed)
                .transpose();
        }
        if inner.is_closed {
            return Some(Err(RecvTimeoutError::Closed));
        }
        let _why = crate::park::wait_reason(super::reason(false));
        Waiter::with(|cx| {
            let oper = Operation::hook(token);
            let packet = Packet::<T>::on_stack(None);
            inner
                .receivers
                .register_with_packet(oper, &packet as *const Packet<T> as *mut (), cx);
            let mut woken = Vec::new();
            inner.senders.notify_observers(&mut woken);
            drop(inner);
            unpark_all(woken);
            match cx.wait_until(deadline) {
                Selected::Waiting => unreachable!("wait_until returned while waiting"),
                Selected::Aborted => {
                    self.inner.lock().receivers.unregister(oper);
                    Some(Err(RecvTimeoutError::Timeout))
                }
                Selected::Closed => {
                    self.inner.lock().receivers.unregister(oper);
                    Some(Err(RecvTimeoutError::Closed))
                }
                Selected::Operation(_) => {
                    packet.wait_ready(cx);
                    // Empty: the select that paired with us abandoned it.
                    packet.take().map(Ok)
                }
            }
        })
    }
}

impl<T> Channel<T> {
    /// Phase 1 of either side: pairs with a waiter of the other side (a
    /// sender with a receiver when `send`), or reports none (`false`);
    /// closed gives an empty token and `true`.
    fn pair(&self, token: &mut Token, send: bool) -> bool {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let theirs = if send {
            &mut inner.receivers
        } else {
            &mut inner.senders
        };
        if let Some(e) = theirs.try_select(None) {
            token.zero.packet = ptr::NonNull::new(e.packet);
            token.zero.cx = Some(e.cx);
            true
        } else if inner.is_closed {
            token.zero = ZeroToken::default();
            true
        } else {
            false
        }
    }
}

impl<T> Flavor for Channel<T> {
    type Msg = T;

    /// Phase 1 of a send: pairs with a waiting receiver (`true`), or
    /// reports none (`false`); closed gives an empty token and `true`.
    fn start_send(&self, token: &mut Token) -> bool {
        self.pair(token, true)
    }

    /// Phase 2 of a send: puts `msg` in the paired receiver's packet.
    ///
    /// # Safety
    ///
    /// `token` came from a successful `start_send` (or a send arm's accept)
    /// on this channel and is used once.
    unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        // SAFETY: the caller's contract.
        unsafe { Self::write_zero(&mut token.zero, msg) }
    }

    /// Phase 1 of a receive: pairs with a waiting sender.
    fn start_recv(&self, token: &mut Token) -> bool {
        self.pair(token, false)
    }

    /// Phase 2 of a receive: takes the value from the paired packet. If
    /// the paired sender abandoned its send (see
    /// [`abandon_send`](Self::abandon_send)), waits for the next sender
    /// like `recv`: the select that chose this receive has no other way to
    /// go on.
    ///
    /// # Safety
    ///
    /// As [`write`](Self::write), for `start_recv`.
    unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        // SAFETY: the caller's contract.
        match unsafe { self.read_or_abandoned(&mut token.zero) } {
            Ok(Some(msg)) => Ok(msg),
            Ok(None) => self.recv(None).map_err(|_| ()),
            Err(()) => Err(()),
        }
    }

    /// Gives up a send paired by `start_send` (or a send arm's accept) that
    /// will never write (its `SelectedOperation` was dropped or unwound):
    /// the receiver is handed an empty packet, and tries again (a blocked
    /// `recv` with its own deadline).
    ///
    /// # Safety
    ///
    /// As [`write`](Self::write): the token is used once, by this call
    /// instead of `write`.
    unsafe fn abandon_send(&self, token: &mut Token) {
        if let Some(packet) = token.zero.packet.take() {
            // SAFETY: the caller's contract.
            unsafe { Self::complete_send(&mut token.zero, packet, None) };
        }
    }

    /// Gives up a receive paired by `start_recv` (or a receive arm's
    /// accept): its sender waits for the value to be taken, so it is taken
    /// and dropped.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read).
    unsafe fn abandon_recv(&self, token: &mut Token) {
        // SAFETY: the caller's contract is `read`'s.
        drop(unsafe { self.read(token) });
    }

    fn send(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        // Only the zero-capacity part of a `Token` (see `recv_once`).
        let token = &mut ZeroToken::default();
        let mut inner = self.inner.lock();
        if let Some(e) = inner.receivers.try_select(None) {
            token.packet = ptr::NonNull::new(e.packet);
            token.cx = Some(e.cx);
            drop(inner);
            // SAFETY: just paired; a receiver's packet is never null.
            return unsafe { Self::write_zero(token, msg) }.map_err(SendTimeoutError::Closed);
        }
        if inner.is_closed {
            return Err(SendTimeoutError::Closed(msg));
        }
        let _why = crate::park::wait_reason(super::reason(true));
        Waiter::with(|cx| {
            let oper = Operation::hook(token);
            let packet = Packet::on_stack(Some(msg));
            inner
                .senders
                .register_with_packet(oper, &packet as *const Packet<T> as *mut (), cx);
            let mut woken = Vec::new();
            inner.receivers.notify_observers(&mut woken);
            drop(inner);
            unpark_all(woken);
            match cx.wait_until(deadline) {
                Selected::Waiting => unreachable!("wait_until returned while waiting"),
                sel @ (Selected::Aborted | Selected::Closed) => {
                    // Nobody paired with us (we aborted, or the close left
                    // our entry in place): take the value back.
                    self.inner.lock().senders.unregister(oper);
                    let msg = packet
                        .take()
                        .expect("an unpaired send still holds its value");
                    Err(if sel == Selected::Aborted {
                        SendTimeoutError::Timeout(msg)
                    } else {
                        SendTimeoutError::Closed(msg)
                    })
                }
                Selected::Operation(_) => {
                    // Paired: leave only once the receiver took the value.
                    packet.wait_ready(cx);
                    Ok(())
                }
            }
        })
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        loop {
            let token = &mut Token::default();
            if !self.start_recv(token) {
                return Err(TryRecvError::Empty);
            }
            // SAFETY: just paired.
            match unsafe { self.read_or_abandoned(&mut token.zero) } {
                Ok(Some(msg)) => return Ok(msg),
                // The paired select abandoned its send: try the next one.
                Ok(None) => {}
                Err(()) => return Err(TryRecvError::Closed),
            }
        }
    }

    fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        loop {
            if let Some(res) = self.recv_once(deadline) {
                return res;
            }
            // The paired select abandoned its send: wait again, with the
            // same deadline.
        }
    }

    /// Registers a select's send arm (`send`) or receive arm with a heap
    /// packet; returns whether the arm is ready now.
    fn register(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        let packet = Box::into_raw(Packet::<T>::empty_on_heap()) as *mut ();
        let mut woken = Vec::new();
        let ready = {
            let mut guard = self.inner.lock();
            let inner = &mut *guard;
            let (mine, theirs) = if send {
                (&mut inner.senders, &mut inner.receivers)
            } else {
                (&mut inner.receivers, &mut inner.senders)
            };
            mine.register_with_packet(oper, packet, cx);
            theirs.notify_observers(&mut woken);
            theirs.can_select(Some(cx)) || inner.is_closed
        };
        unpark_all(woken);
        ready
    }

    /// Unregisters a select arm; frees its heap packet if nobody chose it.
    fn unregister(&self, oper: Operation, send: bool) {
        let mut inner = self.inner.lock();
        let waker = if send {
            &mut inner.senders
        } else {
            &mut inner.receivers
        };
        if let Some(e) = waker.unregister(oper) {
            drop(inner);
            // SAFETY: registered by `register` and never chosen: ours to free.
            drop(unsafe { Box::from_raw(e.packet as *mut Packet<T>) });
        }
    }

    /// A select arm of ours was chosen: learn the packet.
    fn accept(&self, token: &mut Token, cx: &Waiter, _send: bool) -> bool {
        token.zero.packet = ptr::NonNull::new(cx.wait_packet());
        token.zero.cx = None;
        true
    }

    /// Whether a send (`send`) or receive could complete now.
    fn is_ready(&self, send: bool) -> bool {
        let inner = self.inner.lock();
        let theirs = if send {
            &inner.receivers
        } else {
            &inner.senders
        };
        theirs.can_select(None) || inner.is_closed
    }

    /// Not ready while no counterpart's selector is waiting and the channel
    /// is open, with version "counterpart selectors ever registered" (under
    /// the lock, with the check). The side becomes ready only when a
    /// counterpart registers (or on close): a selector already there stops
    /// being selectable once its waiter is chosen or aborted, and a waiter
    /// waits again only after it has left every list (its owner
    /// unregisters before it returns). So two "not ready" probes with one
    /// version prove it was not ready in between.
    fn probe(&self, send: bool) -> Probe {
        let inner = self.inner.lock();
        let theirs = if send {
            &inner.receivers
        } else {
            &inner.senders
        };
        if theirs.can_select(None) || inner.is_closed {
            Probe::Ready
        } else {
            Probe::NotReady(theirs.registered())
        }
    }

    /// Registers an observer of the send (`send`) or receive side.
    fn watch(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        let mut inner = self.inner.lock();
        let inner = &mut *inner;
        let (mine, theirs) = if send {
            (&mut inner.senders, &inner.receivers)
        } else {
            (&mut inner.receivers, &inner.senders)
        };
        mine.watch(oper, cx);
        theirs.can_select(None) || inner.is_closed
    }

    fn unwatch(&self, oper: Operation, send: bool) {
        let mut inner = self.inner.lock();
        if send {
            inner.senders.unwatch(oper);
        } else {
            inner.receivers.unwatch(oper);
        }
    }

    /// Closes the channel; `true` if this call closed it.
    fn close(&self) -> bool {
        let mut woken = Vec::new();
        let mut inner = self.inner.lock();
        let first = !inner.is_closed;
        if first {
            inner.is_closed = true;
            inner.senders.close(&mut woken);
            inner.receivers.close(&mut woken);
        }
        drop(inner);
        unpark_all(woken);
        first
    }

    fn is_closed(&self) -> bool {
        self.inner.lock().is_closed
    }

    /// A rendezvous channel holds no message.
    fn len(&self) -> usize {
        0
    }

    fn capacity(&self) -> Option<usize> {
        Some(0)
    }
}

/// Wakes the select whose send arm we chose and parks until it has written
/// its value into `packet` (see `Packet::waiter`).
#[cold]
fn wait_for_writer<T>(packet: &Packet<T>, cx: &WaiterState) {
    let parker = Parker::current();
    let mine = Box::into_raw(Box::new(parker.unparker()));
    // AcqRel: publishes the unparker to the writer's swap. Failure: the
    // writer already passed (DONE): the value is there or about to be.
    let handed_over = packet
        .waiter
        .compare_exchange(ptr::null_mut(), mine, Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    if !handed_over {
        // SAFETY: never published: still ours.
        drop(unsafe { Box::from_raw(mine) });
    }
    cx.unpark();
    if handed_over {
        // The writer unparks `mine` after `ready`.
        wait_done(&parker, || packet.is_ready());
    } else {
        // The writer has swapped in `DONE` and stores `ready` next, with
        // nothing in between that parks or runs user code: a bounded wait
        // for a running writer (nobody would unpark us, so we must not
        // park). A goroutine writer cannot be switched out between the two.
        let backoff = Backoff::new();
        while !packet.is_ready() {
            backoff.snooze();
        }
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // No waiter can be registered: every operation unregisters before it
        // returns, and a handle is borrowed for its whole duration.
        let inner = self.inner.lock();
        debug_assert!(
            inner.senders.is_empty() && inner.receivers.is_empty(),
            "rendezvous channel dropped with waiters registered"
        );
    }
}
