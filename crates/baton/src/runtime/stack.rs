//! Goroutine stacks: `mmap`'d, with a guard page, pooled per worker, and
//! counted against the kernel's cap on memory mappings.
//!
//! ## Layout
//!
//! ```text
//! low addresses                                        high addresses
//! [ guard page: PROT_NONE ][ usable stack: PROT_READ|WRITE ... ] <- base
//!  ^ limit                                                      (stacks grow down)
//! ```
//!
//! A goroutine that runs past its stack touches the guard page and faults
//! (`SIGSEGV`): the process prints which goroutine overflowed and aborts
//! (see `overflow`), and no memory is ever silently corrupted.
//! Stacks are fixed-size — Go grows its stacks by copying them, which Rust
//! cannot do (references into a stack would dangle) — so the size is a
//! reservation of address space: only the pages a goroutine touches cost
//! memory (`MAP_NORESERVE`, and the kernel maps pages on first touch).
//!
//! ## The mapping cap
//!
//! Linux limits a process to `vm.max_map_count` mappings (65530 by
//! default). A guarded stack is two (the guard and the usable part have
//! different protections, so the kernel cannot merge them with anything).
//! [`MapBudget`] reads the cap once, subtracts what the process already uses
//! plus a reserve for everything else that maps memory (the allocator,
//! thread stacks, libraries loaded later), and counts goroutines against
//! the rest. Past it, spawning fails with a [`SpawnError`](super::SpawnError)
//! that names the limit and the `sysctl` that raises it, instead of an
//! `mmap` failure or a crash deep inside the allocator.
//!
//! The budget counts **live goroutines** (spawned and not finished: each has,
//! or will have when it starts, a stack) plus **the pool capacity of every
//! running runtime** (each worker keeps up to [`POOL_PER_WORKER`] finished
//! goroutines' stacks for reuse). The number of mappings in use is therefore
//! always within the budget, whichever worker maps a new stack.

use core::num::NonZeroUsize;
use std::io;

use corosensei::stack::{Stack, StackPointer};

use crate::shim::atomic::{AtomicUsize, Ordering::*};

/// Default usable stack size: 64 KiB. Go starts goroutines at 2 KiB and grows
/// them; ours cannot grow, so the default leaves room for ordinary Rust
/// (formatting, a few nested calls with buffers) while 100k idle goroutines
/// still reserve only 6.4 GiB of address space and touch a page or two each.
/// Deep recursion needs [`Builder::stack_size`](super::Builder::stack_size).
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// How many finished goroutines' stacks a worker keeps for reuse. Reusing a
/// stack saves an `mmap`, an `mprotect` and a `munmap` (about 10-30 us on
/// these machines, far more than the rest of a spawn).
pub(crate) const POOL_PER_WORKER: usize = 64;

/// Mappings left for everything that is not a goroutine stack: the
/// allocator's arenas, OS thread stacks, libraries and files mapped later.
const MAP_RESERVE: usize = 2048;

/// The system's page size (the guard page's size), read once.
pub(crate) fn page_size() -> usize {
    // Relaxed: a cache of a constant; racing first readers store the same.
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    let cached = PAGE.load(Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: `sysconf` has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let p = if p > 0 { p as usize } else { 4096 };
    PAGE.store(p, Relaxed);
    p
}

/// An `mmap`'d stack with a guard page below it.
#[derive(Debug)]
pub(crate) struct GuardedStack {
    /// Lowest address of the mapping (the guard page starts here).
    low: NonZeroUsize,
    /// Length of the whole mapping, guard page included.
    len: usize,
}

// SAFETY: a stack is plain memory owned by this value; nothing about it is
// tied to the thread that mapped it. (Stacks move between a worker's pool
// and its goroutines only; they are `Send` for the runtime's own plumbing.)
unsafe impl Send for GuardedStack {}

impl GuardedStack {
    /// Maps a stack with at least `size` usable bytes.
    pub(crate) fn new(size: usize) -> io::Result<Self> {
        let page = page_size();
        let usable = size
            .max(corosensei::stack::MIN_STACK_SIZE)
            .checked_next_multiple_of(page)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size overflows"))?;
        let len = usable + page;
        // SAFETY: an anonymous private mapping at an address of the kernel's
        // choosing; no existing memory is affected.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = Self {
            low: NonZeroUsize::new(p as usize).expect("mmap returned null"),
            len,
        };
        // SAFETY: `p + page .. p + len` lies inside the mapping just made,
        // which no one else knows about yet.
        let rc = unsafe {
            libc::mprotect(
                (p as *mut u8).add(page).cast(),
                usable,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            // `stack` unmaps itself on drop.
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// Usable bytes (without the guard page).
    #[cfg(test)]
    pub(crate) fn usable(&self) -> usize {
        self.len - page_size()
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        // SAFETY: we own the mapping `low .. low + len` and nothing runs on
        // it: a stack is dropped only when no coroutine uses it (the pool or
        // a finished coroutine's `into_stack` hands it back).
        let rc = unsafe { libc::munmap(self.low.get() as *mut libc::c_void, self.len) };
        debug_assert_eq!(rc, 0, "munmap of a goroutine stack failed");
    }
}

// SAFETY: `limit()..base()` is one mapping we own; its lowest page is a
// `PROT_NONE` guard page, and above it are at least `MIN_STACK_SIZE` usable
// bytes (`new` rounds up to that). Both addresses are page-aligned, hence
// aligned to `STACK_ALIGNMENT`.
unsafe impl Stack for GuardedStack {
    #[inline]
    fn base(&self) -> StackPointer {
        StackPointer::new(self.low.get() + self.len).expect("stack base overflow")
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.low
    }
}

/// A worker's pool of stacks of one size.
#[derive(Debug)]
pub(crate) struct StackPool {
    size: usize,
    free: Vec<GuardedStack>,
}

impl StackPool {
    pub(crate) fn new(size: usize) -> Self {
        Self {
            size,
            free: Vec::with_capacity(POOL_PER_WORKER),
        }
    }

    /// A stack from the pool, or a new one.
    #[inline]
    pub(crate) fn take(&mut self) -> io::Result<GuardedStack> {
        match self.free.pop() {
            Some(s) => Ok(s),
            None => GuardedStack::new(self.size),
        }
    }

    /// Returns a stack for reuse (unmapped if the pool is full).
    #[inline]
    pub(crate) fn give(&mut self, stack: GuardedStack) {
        if self.free.len() < POOL_PER_WORKER {
            self.free.push(stack);
        }
    }
}

/// The process-wide count of goroutine stacks against the mapping cap; see
/// the module docs.
#[derive(Debug)]
pub(crate) struct MapBudget {
    /// `vm.max_map_count` as read at start (or a test's value).
    cap: usize,
    /// How many stacks may exist at once.
    max_stacks: usize,
    /// Live goroutines plus the pool capacity of running runtimes.
    used: AtomicUsize,
}

impl MapBudget {
    /// The budget for this process: reads `/proc/sys/vm/max_map_count` and
    /// counts the mappings already in `/proc/self/maps`.
    pub(crate) fn global() -> &'static MapBudget {
        static GLOBAL: std::sync::OnceLock<MapBudget> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(|| {
            let cap = std::fs::read_to_string("/proc/sys/vm/max_map_count")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(65530);
            let in_use = std::fs::read_to_string("/proc/self/maps")
                .map(|s| s.lines().count())
                .unwrap_or(0);
            MapBudget::with_cap(cap, in_use)
        })
    }

    /// A budget for a cap of `cap` mappings of which `in_use` are taken.
    pub(crate) fn with_cap(cap: usize, in_use: usize) -> MapBudget {
        let max_stacks = cap.saturating_sub(in_use + MAP_RESERVE) / 2;
        MapBudget {
            cap,
            max_stacks,
            used: AtomicUsize::new(0),
        }
    }

    /// A budget allowing exactly `max_stacks` stacks (tests).
    #[cfg(test)]
    pub(crate) fn exact(max_stacks: usize) -> MapBudget {
        MapBudget {
            cap: 2 * max_stacks,
            max_stacks,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `n` stacks from the budget, or says why not.
    pub(crate) fn acquire(&self, n: usize) -> Result<(), MapLimit> {
        // Relaxed: the count guards a quantity, not data; the CAS loop alone
        // keeps it from overshooting.
        let mut used = self.used.load(Relaxed);
        loop {
            let next = used.saturating_add(n);
            if next > self.max_stacks {
                return Err(MapLimit {
                    cap: self.cap,
                    max_stacks: self.max_stacks,
                    used,
                });
            }
            match self
                .used
                .compare_exchange_weak(used, next, Relaxed, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => used = actual,
            }
        }
    }

    /// Gives `n` stacks back.
    pub(crate) fn release(&self, n: usize) {
        let prev = self.used.fetch_sub(n, Relaxed);
        debug_assert!(prev >= n, "map budget released more than it took");
    }

    /// Stacks counted now (a snapshot).
    #[allow(dead_code)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Relaxed)
    }
}

/// Why a stack could not be had: the mapping cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MapLimit {
    pub(crate) cap: usize,
    pub(crate) max_stacks: usize,
    pub(crate) used: usize,
}

impl core::fmt::Display for MapLimit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let suggest = (self.cap.max(65530) * 4).next_power_of_two();
        write!(
            f,
            "too many goroutines: {} goroutine stacks are live or pooled, the most this process \
             can map: each stack takes 2 memory mappings and the kernel caps mappings at \
             vm.max_map_count = {}; raise it with `sudo sysctl -w vm.max_map_count={}`",
            self.used, self.cap, suggest
        )
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stack_is_writable_and_guarded_layout() {
        let s = GuardedStack::new(10_000).unwrap();
        let page = page_size();
        assert!(s.usable() >= 10_000);
        assert_eq!(s.usable() % page, 0);
        assert_eq!(s.base().get() - s.limit().get(), s.usable() + page);
        // The top and bottom usable bytes are writable.
        let top = (s.base().get() - 1) as *mut u8;
        let bottom = (s.limit().get() + page) as *mut u8;
        // SAFETY: both addresses lie in the read-write part of the mapping.
        unsafe {
            top.write(1);
            bottom.write(2);
            assert_eq!(top.read() + bottom.read(), 3);
        }
    }

    #[test]
    fn pool_reuses() {
        let mut pool = StackPool::new(16 * 1024);
        let a = pool.take().unwrap();
        let base = a.base();
        pool.give(a);
        assert_eq!(pool.take().unwrap().base(), base);
    }

    #[test]
    fn budget_refuses_past_cap_with_the_sysctl() {
        let b = MapBudget::exact(3);
        b.acquire(2).unwrap();
        b.acquire(1).unwrap();
        let err = b.acquire(1).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("vm.max_map_count = 6"), "{msg}");
        assert!(msg.contains("sysctl -w vm.max_map_count="), "{msg}");
        b.release(1);
        b.acquire(1).unwrap();
    }

    #[test]
    fn global_budget_reads_the_cap() {
        let g = MapBudget::global();
        assert!(g.cap > 0);
        assert!(g.max_stacks * 2 < g.cap);
    }
}
