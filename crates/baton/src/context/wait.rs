//! Waiting on a context from a blocking call: a parked goroutine or
//! thread registered on the context's node, woken by its cancel.
//!
//! The protocol, for a waiter that parks until "its condition or the
//! context is done":
//!
//! 1. register the caller's [`Unparker`] on the node ([`Waiter::new`]); if
//!    the node is done already, the registration is refused and the wait
//!    ends with the context's error at once;
//! 2. loop: check the context, check the condition, park;
//! 3. on the way out, [`Waiter`]'s drop withdraws the registration.
//!
//! No lost wake-up: a cancel that happens after step 1 finds the
//! registration and unparks the waiter; the park token keeps that wake
//! even if it lands before the park, and the waiter re-checks `err()`
//! (whose `Acquire` pairs with the cancel's `Release`) after every park.
//! No leak: the registration is withdrawn when the wait ends for any
//! other reason (condition met, time-out, panic: drop runs on unwind). A
//! cancel racing with that withdrawal may still unpark the caller once
//! more, which the park contract allows (a spurious wake-up later).

use crate::park::wait_queue::Until;
use crate::park::{self, Unparker};

use super::error::Error;
use super::tree::{Hook, Member, Token};
use super::Context;

/// A waiter's registration on a context; withdrawn on drop.
pub(crate) struct Waiter {
    reg: Option<(Context, Token)>,
}

impl Waiter {
    /// Registers `unparker` to be woken when `ctx` is done; the context's
    /// error if it is done already. A context that cannot be done needs no
    /// registration.
    pub(crate) fn new(ctx: &Context, unparker: Unparker) -> Result<Waiter, Error> {
        let Some(source) = ctx.attached_source() else {
            return Ok(Waiter { reg: None });
        };
        let node = source.0.node();
        match node.register(Hook::Unpark(unparker)) {
            Ok(token) => Ok(Waiter {
                reg: Some((source.clone(), token)),
            }),
            Err(_) => Err(node.err().expect("a node that refuses hooks is done")),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some((ctx, token)) = self.reg.take() {
            drop(ctx.0.node().withdraw(token));
        }
    }
}

/// Runs `wait` (a wait-queue wait, given the [`Until`] to pass down) so
/// that it gives up when `ctx` is done: the caller is registered as a
/// waiter on `ctx` for the duration, and the wait queue checks the
/// context after every wake-up. `Err` at once if `ctx` is done already;
/// otherwise what `wait` returns (it may succeed although the context
/// was cancelled meanwhile, as a Go `select` with two ready cases may).
pub(crate) fn until_done<R>(ctx: &Context, wait: impl FnOnce(Until<'_>) -> R) -> Result<R, Error> {
    if let Some(e) = ctx.err() {
        return Err(e);
    }
    let _waiter = Waiter::new(ctx, park::current())?;
    let abort = || ctx.is_done();
    Ok(wait(Until {
        deadline: None,
        abort: Some(&abort),
    }))
}

/// The error of a context whose wait gave up because it is done.
pub(crate) fn done_error(ctx: &Context) -> Error {
    ctx.err()
        .expect("baton::context: a wait gave up without a deadline, so its context is done")
}
