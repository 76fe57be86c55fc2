//! [`CachePadded`]: keeps a value on cache lines of its own.
//!
//! Two values written by different cores that share a cache line make that
//! line bounce between the cores' caches on every write even though the
//! values are independent: *false sharing*. Padding each value to the line
//! size removes it.
//!
//! The alignment is what actually prevents false sharing on each target, not
//! the nominal line size:
//!
//! | target | alignment | why |
//! |---|---|---|
//! | x86-64 | 128 | lines are 64 bytes, but the L2 spatial prefetcher pulls lines in aligned pairs, so neighbours within 128 bytes still interfere (Intel's optimisation manual, §3.7.3) |
//! | aarch64, powerpc64 | 128 | Apple M-series and POWER use 128-byte lines |
//! | s390x | 256 | 256-byte lines |
//! | arm, mips, riscv32/64, sparc, hexagon | 32 or 64 | their line sizes |
//! | anything else | 64 | the common case |
//!
//! The table follows crossbeam-utils' `CachePadded`, which measured the same.

use core::fmt;
use core::ops::{Deref, DerefMut};

/// Pads and aligns a value to the length of a cache line (see the module docs
/// for the size on each target), so that values written by different threads
/// never share a line.
///
/// ```
/// use baton::atomic::CachePadded;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// // Two counters written by two threads: without the padding they would
/// // share one line and slow each other down.
/// let slots = [CachePadded::new(AtomicU64::new(0)), CachePadded::new(AtomicU64::new(0))];
/// std::thread::scope(|s| {
///     for slot in &slots {
///         s.spawn(move || for _ in 0..1000 { slot.fetch_add(1, Ordering::Relaxed); });
///     }
/// });
/// assert_eq!(slots[0].load(Ordering::Relaxed) + slots[1].load(Ordering::Relaxed), 2000);
/// assert!(std::mem::align_of::<CachePadded<u8>>() >= 64);
/// let addr = |i: usize| &slots[i] as *const _ as usize;
/// assert!(addr(1) - addr(0) >= std::mem::align_of::<CachePadded<u8>>());
/// ```
#[cfg_attr(
    any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64"
    ),
    repr(align(128))
)]
#[cfg_attr(target_arch = "s390x", repr(align(256)))]
#[cfg_attr(
    any(
        target_arch = "arm",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "sparc",
        target_arch = "hexagon"
    ),
    repr(align(32))
)]
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "arm",
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "sparc",
        target_arch = "hexagon"
    )),
    repr(align(64))
)]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CachePadded<T> {
    value: T,
}

impl<T> CachePadded<T> {
    /// Pads `value`.
    ///
    /// ```
    /// let padded = baton::atomic::CachePadded::new(7u8);
    /// assert_eq!(*padded, 7);
    /// ```
    pub const fn new(value: T) -> Self {
        Self { value }
    }

    /// Returns the value, unpadded.
    ///
    /// ```
    /// let padded = baton::atomic::CachePadded::new(vec![1, 2]);
    /// assert_eq!(padded.into_inner(), vec![1, 2]);
    /// ```
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for CachePadded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachePadded")
            .field("value", &self.value)
            .finish()
    }
}

impl<T> From<T> for CachePadded<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_do_not_share_a_line() {
        let pair = [CachePadded::new(0u8), CachePadded::new(1u8)];
        let a = &pair[0] as *const _ as usize;
        let b = &pair[1] as *const _ as usize;
        let align = core::mem::align_of::<CachePadded<u8>>();
        assert_eq!(b - a, align);
        assert_eq!(a % align, 0);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(align, 128, "x86-64 pairs lines in the prefetcher");
    }

    #[test]
    fn large_values_round_up_to_whole_lines() {
        let align = core::mem::align_of::<CachePadded<[u8; 200]>>();
        assert_eq!(core::mem::size_of::<CachePadded<[u8; 200]>>() % align, 0);
        assert!(core::mem::size_of::<CachePadded<[u8; 200]>>() >= 200);
    }
}
