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
//! the rest. Past it, spawning fails with a [`SpawnError`](crate::runtime::SpawnError)
//! that names the limit and the `sysctl` that raises it, instead of an
//! `mmap` failure or a crash deep inside the allocator.
//!
//! The budget counts **live goroutines** (spawned and not finished: each has,
//! or will have when it starts, a stack) plus **the pool capacity of every
//! running runtime** (each worker keeps up to [`POOL_PER_WORKER`] finished
//! goroutines' stacks for reuse: [`POOL_DEFAULT`] of the runtime's size and
//! [`POOL_OTHER`] of other sizes). The number of mappings in use is therefore
//! always within the budget, whichever worker maps a new stack. Nothing
//! else here changes the count: `madvise` and `mincore` never split a
//! mapping, and `MADV_NOHUGEPAGE` is applied to the whole mapping before
//! `mprotect` splits it in two.
//!
//! ## Sizes
//!
//! A runtime has one stack size ([`Builder::stack_size`]); a goroutine may
//! ask for another ([`Options::stack_size`]). Sizes are normalised by
//! [`usable_size`] (whole pages, at least corosensei's minimum), so a
//! request equal to the runtime's size after rounding takes the fast path.
//! A worker's pool keeps its runtime's size in a LIFO `Vec` (take and give
//! are a pop and a push) and up to [`POOL_OTHER`] stacks of other sizes in a
//! short list searched by exact size, the oldest evicted (unmapped) first.
//!
//! ## Giving pages back ([`STACK_KEEP`])
//!
//! A deep goroutine leaves its pages resident after it finishes; pooled,
//! the stack would keep them forever. So pooled stacks are *trimmed*:
//! everything below the top [`STACK_KEEP`] bytes is returned to the kernel
//! with `madvise(MADV_DONTNEED)` (the next touch maps a zeroed page). To keep
//! the spawn-join path free of system calls, when depends on the size:
//!
//! - stacks of another size than the runtime's (rare, asked for because they
//!   go deep) are trimmed as they come back to the pool;
//! - stacks of the runtime's size are marked dirty and trimmed in a batch
//!   when the worker runs out of work and is about to sleep
//!   ([`StackPool::trim_idle`]), and every [`TRIM_EVERY`] returns (so a
//!   worker that never sleeps still trims, at a cost of at most
//!   `POOL_DEFAULT / TRIM_EVERY` calls per goroutine). A stack no larger
//!   than `STACK_KEEP` has nothing to trim and costs nothing.
//!
//! [`Builder::stack_size`]: crate::runtime::Builder::stack_size
//! [`Options::stack_size`]: crate::runtime::Options::stack_size

use core::num::NonZeroUsize;
use std::io;

use corosensei::stack::{Stack, StackPointer};

use crate::shim::atomic::{AtomicUsize, Ordering::*};

/// Default usable stack size: 64 KiB. Go starts goroutines at 2 KiB and grows
/// them; ours cannot grow, so the default leaves room for ordinary Rust
/// (formatting, a few nested calls with buffers) while 100k idle goroutines
/// still reserve only 6.4 GiB of address space and touch a page or two each.
/// Deep recursion needs [`Builder::stack_size`](crate::runtime::Builder::stack_size).
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// How many finished goroutines' stacks of the runtime's size a worker keeps
/// for reuse. Reusing a stack saves an `mmap`, an `mprotect` and a `munmap`
/// (about 10-30 us on these machines, far more than the rest of a spawn).
pub(crate) const POOL_DEFAULT: usize = 64;

/// How many stacks of other sizes (see [`Options::stack_size`]) a worker
/// keeps: a few, for a program that spawns deep goroutines of one or two
/// sizes again and again.
///
/// [`Options::stack_size`]: crate::runtime::Options::stack_size
pub(crate) const POOL_OTHER: usize = 8;

/// The most stacks a worker's pool holds, which the map budget reserves.
pub(crate) const POOL_PER_WORKER: usize = POOL_DEFAULT + POOL_OTHER;

/// Bytes at the top of a pooled stack that trimming leaves resident: the
/// part every goroutine touches (its first frames), so reusing the stack
/// costs no page faults for shallow goroutines.
pub const STACK_KEEP: usize = 16 * 1024;

/// Returns of runtime-size stacks between two trims of a busy worker's
/// pool (see the module docs).
const TRIM_EVERY: u32 = 4096;

/// Mappings at or above this size are marked `MADV_NOHUGEPAGE`: with
/// transparent huge pages on, the first touch of a stack's top could
/// otherwise fault in 2 MiB at once, and trimming would split huge pages.
const NO_HUGE_FROM: usize = 2 * 1024 * 1024;

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
        let usable = usable_size(size);
        let len = usable
            .checked_add(page)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "stack size overflows"))?;
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
        if len >= NO_HUGE_FROM {
            // SAFETY: advice on the whole mapping just made (one VMA still,
            // so no split); failure only leaves huge pages allowed.
            unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) };
        }
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
    #[inline]
    pub(crate) fn usable(&self) -> usize {
        self.len - page_size()
    }

    /// Lowest usable address (just above the guard page).
    #[inline]
    fn usable_low(&self) -> usize {
        self.low.get() + page_size()
    }

    /// Gives every page below the top [`STACK_KEEP`] bytes back to the
    /// kernel; they read as zeros when touched again. No-op (no system
    /// call) for a stack no larger than that.
    ///
    /// Only for a stack nothing runs on (pooled): what lies below the top
    /// is discarded.
    pub(crate) fn trim(&self) {
        let Some(len) = self.usable().checked_sub(STACK_KEEP) else {
            return;
        };
        if len == 0 {
            return;
        }
        // SAFETY: `usable_low .. usable_low + len` lies in the read-write
        // part of our mapping (below the kept top), and no goroutine runs on
        // this stack (the caller's contract: it is in, or going into, a
        // pool), so discarding its contents breaks nothing.
        let rc = unsafe {
            libc::madvise(
                self.usable_low() as *mut libc::c_void,
                len,
                libc::MADV_DONTNEED,
            )
        };
        debug_assert_eq!(rc, 0, "madvise(MADV_DONTNEED) of a pooled stack failed");
    }

    /// Bytes from the base down to the lowest resident page (tests).
    #[cfg(test)]
    pub(crate) fn touched(&self) -> usize {
        touched_depth(self.usable_low(), self.base().get())
    }
}

/// Normalises a requested stack size: at least corosensei's minimum,
/// rounded up to whole pages (saturating: an absurd size fails at `mmap`).
pub(crate) fn usable_size(bytes: usize) -> usize {
    let page = page_size();
    let b = bytes.max(corosensei::stack::MIN_STACK_SIZE);
    b.checked_next_multiple_of(page)
        .unwrap_or(usize::MAX / page * page - page)
}

/// How deep a stack `low..base` has been touched: `base` minus the lowest
/// resident page, by `mincore` (0 if none is resident or the call fails).
/// Pages stay resident until trimmed, so this counts what every goroutine
/// that ran on the stack since it was mapped or last trimmed touched.
pub(crate) fn touched_depth(low: usize, base: usize) -> usize {
    let page = page_size();
    let pages = (base - low) / page;
    let mut vec = vec![0u8; pages];
    // SAFETY: `low..base` is page-aligned and mapped (a stack's usable
    // part); `vec` has one byte per page, as `mincore` writes.
    let rc = unsafe { libc::mincore(low as *mut libc::c_void, base - low, vec.as_mut_ptr()) };
    if rc != 0 {
        return 0;
    }
    match vec.iter().position(|v| v & 1 != 0) {
        Some(i) => base - (low + i * page),
        None => 0,
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

/// A worker's pool of finished goroutines' stacks (see the module docs).
#[derive(Debug)]
pub(crate) struct StackPool {
    /// The runtime's stack size, normalised.
    size: usize,
    /// Stacks of `size`, LIFO; at most [`POOL_DEFAULT`].
    free: Vec<GuardedStack>,
    /// `free[..clean]` are trimmed; the rest are dirty.
    clean: usize,
    /// Returns to `free` since the last trim.
    since_trim: u32,
    /// Stacks of other sizes, trimmed, oldest first; at most [`POOL_OTHER`].
    other: Vec<GuardedStack>,
}

impl StackPool {
    /// A pool for a runtime whose stacks have `size` bytes (normalised here).
    pub(crate) fn new(size: usize) -> Self {
        Self {
            size: usable_size(size),
            free: Vec::with_capacity(POOL_DEFAULT),
            clean: 0,
            since_trim: 0,
            other: Vec::new(),
        }
    }

    /// A stack of `size` usable bytes (normalised, or 0 for the runtime's
    /// size) from the pool, or a new one.
    #[inline]
    pub(crate) fn take(&mut self, size: usize) -> io::Result<GuardedStack> {
        if size != 0 && size != self.size {
            return self.take_other(size);
        }
        match self.free.pop() {
            Some(s) => {
                self.clean = self.clean.min(self.free.len());
                Ok(s)
            }
            None => GuardedStack::new(self.size),
        }
    }

    #[cold]
    fn take_other(&mut self, size: usize) -> io::Result<GuardedStack> {
        match self.other.iter().rposition(|s| s.usable() == size) {
            Some(i) => Ok(self.other.remove(i)),
            None => GuardedStack::new(size),
        }
    }

    /// Returns a stack for reuse (unmapped if the pool is full).
    #[inline]
    pub(crate) fn give(&mut self, stack: GuardedStack) {
        if stack.usable() != self.size {
            return self.give_other(stack);
        }
        if self.free.len() < POOL_DEFAULT {
            self.free.push(stack);
        }
        self.since_trim += 1;
        if self.since_trim >= TRIM_EVERY {
            self.trim_idle();
        }
    }

    #[cold]
    fn give_other(&mut self, stack: GuardedStack) {
        stack.trim();
        if self.other.len() == POOL_OTHER {
            drop(self.other.remove(0));
        }
        self.other.push(stack);
    }

    /// Trims the dirty stacks of the runtime's size (the worker calls this
    /// before it sleeps); nothing to do, no system call, when none is.
    pub(crate) fn trim_idle(&mut self) {
        self.since_trim = 0;
        if self.size <= STACK_KEEP {
            return;
        }
        for s in &self.free[self.clean..] {
            s.trim();
        }
        self.clean = self.free.len();
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
    #[cfg(test)]
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
        let a = pool.take(0).unwrap();
        let base = a.base();
        pool.give(a);
        assert_eq!(pool.take(usable_size(16 * 1024)).unwrap().base(), base);
    }

    /// Writes a byte on every page of the top `bytes` of `s`.
    fn touch(s: &GuardedStack, bytes: usize) {
        let page = page_size();
        let mut at = s.base().get() - 1;
        while at >= s.base().get() - bytes {
            // SAFETY: inside the read-write part of a stack nothing runs on.
            unsafe { (at as *mut u8).write_volatile(1) };
            at -= page;
        }
    }

    #[test]
    fn usable_size_rounds_to_pages_and_minimum() {
        let page = page_size();
        assert_eq!(usable_size(0), corosensei::stack::MIN_STACK_SIZE.max(page));
        assert_eq!(usable_size(page * 3 + 1), page * 4);
        assert_eq!(usable_size(1 << 20), 1 << 20);
        assert!(usable_size(usize::MAX) % page == 0);
    }

    #[test]
    fn other_sizes_pool_apart_and_come_back_trimmed() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE);
        let big = usable_size(4 << 20);
        let s = pool.take(big).unwrap();
        assert_eq!(s.usable(), big);
        touch(&s, 1 << 20);
        assert!(s.touched() >= 1 << 20, "touched {}", s.touched());
        let base = s.base();
        pool.give(s);
        // A default-size request does not get it; a same-size one does.
        let d = pool.take(0).unwrap();
        assert_ne!(d.base(), base);
        assert_eq!(d.usable(), usable_size(DEFAULT_STACK_SIZE));
        let s = pool.take(big).unwrap();
        assert_eq!(s.base(), base, "reused");
        assert!(
            s.touched() <= STACK_KEEP,
            "trimmed to {} bytes",
            s.touched()
        );
        // The kept top still holds what was written there.
        // SAFETY: the top byte of the stack's read-write part.
        assert_eq!(unsafe { ((base.get() - 1) as *const u8).read() }, 1);
    }

    #[test]
    fn other_sizes_are_bounded_oldest_out() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE);
        let sizes: Vec<usize> = (0..=POOL_OTHER)
            .map(|i| usable_size(128 * 1024 + i * page_size()))
            .collect();
        for &size in &sizes {
            let s = pool.take(size).unwrap();
            pool.give(s);
        }
        assert_eq!(pool.other.len(), POOL_OTHER);
        assert!(
            pool.other.iter().all(|s| s.usable() != sizes[0]),
            "the oldest went"
        );
    }

    #[test]
    fn default_size_stacks_are_trimmed_when_idle() {
        let size = usable_size(1 << 20);
        let mut pool = StackPool::new(size);
        let stacks: Vec<_> = (0..3).map(|_| pool.take(0).unwrap()).collect();
        for s in &stacks {
            touch(s, 512 * 1024);
        }
        for s in stacks {
            pool.give(s);
        }
        // Returned as they were: no system call on the way back.
        assert!(pool.free.iter().all(|s| s.touched() >= 512 * 1024));
        assert_eq!(pool.clean, 0);
        pool.trim_idle();
        assert_eq!(pool.clean, 3);
        assert!(pool.free.iter().all(|s| s.touched() <= STACK_KEEP));
        // Taking one makes the boundary follow.
        let s = pool.take(0).unwrap();
        assert_eq!(pool.clean, 2);
        touch(&s, 64 * 1024);
        pool.give(s);
        pool.trim_idle();
        assert!(pool.free.iter().all(|s| s.touched() <= STACK_KEEP));
    }

    #[test]
    fn pool_never_holds_more_than_its_reservation() {
        let mut pool = StackPool::new(DEFAULT_STACK_SIZE);
        let many: Vec<_> = (0..POOL_DEFAULT + 5)
            .map(|_| pool.take(0).unwrap())
            .collect();
        for s in many {
            pool.give(s);
        }
        for i in 0..POOL_OTHER + 5 {
            let s = pool
                .take(usable_size(256 * 1024 + i * page_size()))
                .unwrap();
            pool.give(s);
        }
        assert_eq!(pool.free.len() + pool.other.len(), POOL_PER_WORKER);
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
