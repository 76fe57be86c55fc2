//! The never flavour: a receiver that is never ready (Go's nil channel):
//! `recv` blocks forever (or until its deadline), a select arm on it is
//! never chosen.

use std::time::Instant;

use crate::park;

use super::super::error::RecvTimeoutError;

/// Waits until `deadline` (forever without one) and reports a timeout.
pub(crate) fn recv(deadline: Option<Instant>) -> RecvTimeoutError {
    let _why = park::wait_reason(park::WaitReason::ChanReceiveNil);
    match deadline {
        None => loop {
            // Spurious wake-ups and stray tokens: park again, forever.
            park::park();
        },
        Some(d) => {
            while Instant::now() < d {
                park::park_deadline(d);
            }
            RecvTimeoutError::Timeout
        }
    }
}
