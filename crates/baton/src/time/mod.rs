//! Layer 3: time, the goroutine-aware way. For now: [`sleep`].
//!
//! In a goroutine, sleeping parks the goroutine on its worker's timer heap,
//! so the worker runs others meanwhile; in a plain thread it parks the
//! thread. (`std::thread::sleep` inside a goroutine would block its whole
//! worker.)

use std::time::{Duration, Instant};

use crate::park;

/// Sleeps for at least `d`: parks the calling goroutine (or thread).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let h = baton::go(|| {
///     let start = Instant::now();
///     baton::time::sleep(Duration::from_millis(5));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(deadline) => sleep_until(deadline),
        // Past the end of representable time: sleep forever.
        None => {
            let _reason = park::wait_reason(park::WaitReason::Sleep);
            loop {
                park::park();
            }
        }
    }
}

/// Sleeps until `deadline` (returns at once if it has passed).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(2);
/// baton::time::sleep_until(deadline);
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) {
    // Wake-ups before the deadline are spurious here (a token left by some
    // earlier unpark): park again until the deadline has passed.
    let _reason = park::wait_reason(park::WaitReason::Sleep);
    while Instant::now() < deadline {
        park::park_deadline(deadline);
    }
}
