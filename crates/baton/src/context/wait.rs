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

use crate::park::Unparker;
use crate::shim::Arc;

use super::error::Error;
use super::tree::{Hook, Node, Token};
use super::Context;

/// A waiter's registration on a context; withdrawn on drop.
pub(crate) struct Waiter {
    reg: Option<(Arc<Node>, Token)>,
}

impl Waiter {
    /// Registers `unparker` to be woken when `ctx` is done; the context's
    /// error if it is done already. A context that cannot be done needs no
    /// registration.
    pub(crate) fn new(ctx: &Context, unparker: Unparker) -> Result<Waiter, Error> {
        let Some(node) = ctx.node() else {
            return Ok(Waiter { reg: None });
        };
        match node.register(Hook::Unpark(unparker)) {
            Ok(token) => Ok(Waiter {
                reg: Some((Arc::clone(node), token)),
            }),
            Err(_) => Err(node.err().expect("a node that refuses hooks is done")),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some((node, token)) = self.reg.take() {
            drop(node.withdraw(token));
        }
    }
}
