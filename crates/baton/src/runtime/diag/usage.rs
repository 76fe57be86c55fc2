//! How much of its stack a goroutine uses: [`stack_usage`].
//!
//! Two figures, measured differently:
//!
//! - **in use now**: the stack's base minus the address of a local in
//!   `stack_usage`'s own frame — exact to within that frame, and free (no
//!   system call).
//! - **high-water mark**: from the base down to the lowest *resident* page
//!   of the stack, asked of the kernel with `mincore` (one system call, and
//!   a byte of scratch memory per page of the stack). A page becomes
//!   resident when first touched and stays so until the stack is trimmed
//!   (see `stack`), so this is the deepest any goroutine reached on this
//!   stack **since it was mapped or last trimmed**: on a reused stack it may
//!   include what an earlier goroutine touched (at most
//!   [`STACK_KEEP`](crate::runtime::STACK_KEEP) bytes once trimmed; a stack of the
//!   runtime's size is trimmed only when its worker idles, so until then up
//!   to what the deepest earlier goroutine reached). Pages are whole, so it
//!   is a multiple of the page size. It never undercounts this goroutine's
//!   own use (memory swapped out aside: goroutine stacks are anonymous
//!   memory, and a swapped-out page does not count as resident).

use crate::runtime::sched::current;
use crate::runtime::sched::stack::touched_depth;

/// A goroutine's stack: its size and how much of it is used; see
/// [`stack_usage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackUsage {
    size: usize,
    in_use: usize,
    high_water: usize,
}

impl StackUsage {
    /// Usable bytes of the stack (its fixed size: the runtime's, or the
    /// goroutine's own from [`Options::stack_size`](crate::runtime::Options::stack_size)).
    ///
    /// ```
    /// let size = baton::go(|| baton::runtime::stack_usage().unwrap().size());
    /// assert_eq!(size.join().unwrap(), baton::runtime::DEFAULT_STACK_SIZE);
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Bytes in use now, from the stack's base to the caller of
    /// [`stack_usage`] (exact to within a frame).
    ///
    /// ```
    /// let used = baton::go(|| baton::runtime::stack_usage().unwrap().in_use());
    /// let used = used.join().unwrap();
    /// assert!(used > 0 && used < baton::runtime::DEFAULT_STACK_SIZE);
    /// ```
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// The most bytes of the stack touched since it was mapped or last
    /// trimmed, in whole pages; at least [`in_use`](Self::in_use). See the
    /// module docs for what a reused stack adds.
    ///
    /// ```
    /// let u = baton::go(|| baton::runtime::stack_usage().unwrap()).join().unwrap();
    /// assert!(u.high_water() >= u.in_use());
    /// ```
    pub fn high_water(&self) -> usize {
        self.high_water
    }

    /// Bytes left before the guard page, now.
    ///
    /// ```
    /// let u = baton::go(|| baton::runtime::stack_usage().unwrap()).join().unwrap();
    /// assert_eq!(u.remaining() + u.in_use(), u.size());
    /// ```
    pub fn remaining(&self) -> usize {
        self.size - self.in_use
    }
}

/// The running goroutine's stack usage; `None` on a plain thread.
///
/// Costs one `mincore` system call (for the high-water mark; see the
/// module docs for what it counts).
///
/// ```
/// use baton::runtime::{go_with, stack_usage, Options};
///
/// assert!(stack_usage().is_none()); // a plain thread
///
/// fn deep(n: u32) -> usize {
///     let pad = std::hint::black_box([0u8; 1024]);
///     if n == 0 {
///         return stack_usage().unwrap().in_use() + usize::from(pad[0]);
///     }
///     deep(n - 1)
/// }
/// let (shallow, at_depth, after) = go_with(Options::new().stack_size(1 << 20), || {
///     let shallow = stack_usage().unwrap();
///     let at_depth = deep(100);
///     (shallow, at_depth, stack_usage().unwrap())
/// })
/// .join()
/// .unwrap();
/// assert!(at_depth >= shallow.in_use() + 100 * 1024);
/// assert!(after.high_water() >= at_depth); // the pages stay touched
/// ```
#[inline(never)]
pub fn stack_usage() -> Option<StackUsage> {
    let info = current::overflow_info()?;
    let here = 0u8;
    let sp = core::hint::black_box(&here) as *const u8 as usize;
    let low = info.guard_high;
    let base = low + info.stack_size;
    debug_assert!(low <= sp && sp < base, "stack_usage off its own stack");
    let in_use = base.saturating_sub(sp);
    let high_water = touched_depth(low, base).max(in_use);
    Some(StackUsage {
        size: info.stack_size,
        in_use,
        high_water,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::{go_with, Builder, Options, STACK_KEEP};

    #[inline(never)]
    fn recurse_then(n: u32, f: &dyn Fn() -> StackUsage) -> StackUsage {
        let pad = core::hint::black_box([n as u8; 1024]);
        let u = if n == 0 { f() } else { recurse_then(n - 1, f) };
        core::hint::black_box(&pad);
        u
    }

    #[test]
    fn none_on_a_plain_thread() {
        assert!(stack_usage().is_none());
    }

    #[test]
    fn usage_grows_with_depth_and_the_mark_stays() {
        let rt = Builder::new().workers(1).build();
        let (a, b, c, d) = rt.run(|| {
            go_with(Options::new().stack_size(8 << 20), || {
                let shallow = stack_usage().unwrap();
                let mid = recurse_then(100, &|| stack_usage().unwrap());
                let deep = recurse_then(1000, &|| stack_usage().unwrap());
                let back = stack_usage().unwrap();
                (shallow, mid, deep, back)
            })
            .join()
            .unwrap()
        });
        assert_eq!(a.size(), 8 << 20);
        assert!(b.in_use() >= a.in_use() + 100 * 1024, "{a:?} {b:?}");
        assert!(c.in_use() >= a.in_use() + 1000 * 1024, "{a:?} {c:?}");
        assert!(c.high_water() >= c.in_use());
        assert!(d.in_use() < b.in_use(), "back up: {d:?}");
        assert!(d.high_water() >= c.in_use(), "the mark stays: {d:?} {c:?}");
    }

    #[test]
    fn a_reused_big_stack_comes_back_trimmed() {
        let rt = Builder::new().workers(1).build();
        let opts = Options::new().stack_size(8 << 20);
        let (deep, next) = rt.run(move || {
            let deep = go_with(opts.clone(), || {
                recurse_then(1200, &|| stack_usage().unwrap()).high_water()
            })
            .join()
            .unwrap();
            let next = go_with(opts, || stack_usage().unwrap()).join().unwrap();
            (deep, next)
        });
        assert!(deep >= 1 << 20, "touched {deep} bytes");
        assert!(
            next.high_water() <= STACK_KEEP,
            "the next goroutine on it sees {} bytes resident",
            next.high_water()
        );
    }

    #[test]
    fn a_default_size_stack_is_trimmed_once_the_worker_idles() {
        crate::runtime::tests::within(60, "idle trim", || {
            let rt = Builder::new().workers(1).stack_size(8 << 20).build();
            let deep = rt
                .go(|| recurse_then(1200, &|| stack_usage().unwrap()).high_water())
                .join()
                .unwrap();
            assert!(deep >= 1 << 20, "touched {deep} bytes");
            // The worker goes idle (and trims) once it has nothing to do;
            // every later goroutine reuses the one pooled stack.
            loop {
                std::thread::sleep(std::time::Duration::from_millis(5));
                let hw = rt
                    .go(|| stack_usage().unwrap().high_water())
                    .join()
                    .unwrap();
                if hw <= STACK_KEEP {
                    break;
                }
            }
        });
    }
}
