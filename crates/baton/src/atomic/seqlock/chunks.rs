//! [`Chunks<T>`]: a `T` kept as 8-byte atomic chunks, loaded and stored
//! chunk by chunk, so that a reader racing with a writer performs only
//! atomic accesses (no data race, whatever it reads).
//!
//! The value sits in a [`Storage<T>`]: `T` at offset 0, the whole aligned to
//! at least 8 and so a whole number of chunks long; the tail past `T`, and
//! `T`'s own padding, are uninitialised bytes, which the chunk type
//! (`shim::AtomicChunk`, `AtomicMaybeUninit<u64>` outside loom) carries
//! without ever turning them into integers.
//!
//! Outside loom the chunks are views (`AtomicMaybeUninit::from_ptr`) into
//! inline storage, so the value lives in the `SeqLock` itself and
//! `get_mut` can hand out `&mut T`. Loom's atomics are objects of the model,
//! not views of memory, so under loom the chunks are a boxed array of
//! separate atomics and `get_mut` does not exist.

use core::mem::{size_of, MaybeUninit};

use crate::shim::atomic::Ordering;
use crate::shim::AtomicChunk;

/// `T` at offset 0, aligned to `max(8, align_of::<T>())`; its size is thus
/// a multiple of 8 (a Rust type's size is a multiple of its alignment).
#[repr(C, align(8))]
pub(super) struct Storage<T>(MaybeUninit<T>);

impl<T: Copy> Storage<T> {
    /// The number of 8-byte chunks in a `Storage<T>`.
    pub(super) const CHUNKS: usize = size_of::<Self>() / 8;

    /// # Safety
    ///
    /// The bytes must be those of one whole `T` (a consistent snapshot).
    #[inline]
    pub(super) unsafe fn assume_init(&self) -> T {
        // SAFETY: the caller promises a whole `T`; `T` is `Copy`.
        unsafe { self.0.assume_init() }
    }
}

// The chunk views below rely on these.
#[cfg(not(loom))]
const _: () = assert!(size_of::<AtomicChunk>() == 8 && core::mem::align_of::<AtomicChunk>() == 8);

/// Writes `value` into a fresh storage and returns it as chunks.
#[inline]
fn chunks_of<T: Copy>(value: &T) -> MaybeUninit<Storage<T>> {
    let mut buf = MaybeUninit::<Storage<T>>::uninit();
    // SAFETY: `T` sits at offset 0 of the (aligned) storage.
    unsafe { buf.as_mut_ptr().cast::<T>().write(*value) };
    buf
}

/// A `T` as atomic chunks (see the module docs).
#[cfg(not(loom))]
pub(super) struct Chunks<T> {
    /// Shared: touched only through atomic chunk views. Through `&mut`:
    /// plainly (no other access can exist then).
    storage: crate::shim::UnsafeCell<Storage<T>>,
}

#[cfg(not(loom))]
impl<T: Copy> Chunks<T> {
    pub(super) fn new(value: T) -> Self {
        Self {
            storage: crate::shim::UnsafeCell::new(Storage(MaybeUninit::new(value))),
        }
    }

    /// The `i`-th chunk, as an atomic.
    #[inline(always)]
    fn chunk(&self, i: usize) -> &AtomicChunk {
        debug_assert!(i < Storage::<T>::CHUNKS);
        self.storage.with(|p| {
            // SAFETY: `i < CHUNKS`, so the chunk lies inside the storage,
            // 8-aligned since the storage is; the storage lives as long as
            // `&self`; and while it is shared every access to it is one of
            // these 8-byte atomic views (plain accesses need `&mut self`).
            unsafe { AtomicChunk::from_ptr(p.cast::<MaybeUninit<u64>>().cast_mut().add(i)) }
        })
    }

    pub(super) fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every other access, and the storage
        // always holds a whole `T` when no write is in progress (a write
        // borrows `&self`, so none is).
        self.storage
            .with_mut(|p| unsafe { (*p).0.assume_init_mut() })
    }

    pub(super) fn into_inner(self) -> T {
        // SAFETY: as for `get_mut`: ownership, and a whole `T`.
        unsafe { self.storage.into_inner().assume_init() }
    }
}

/// A `T` as atomic chunks (see the module docs): loom's version.
#[cfg(loom)]
pub(super) struct Chunks<T> {
    chunks: Box<[AtomicChunk]>,
    _t: core::marker::PhantomData<T>,
}

#[cfg(loom)]
impl<T: Copy> Chunks<T> {
    pub(super) fn new(value: T) -> Self {
        let buf = chunks_of(&value);
        let src = buf.as_ptr().cast::<MaybeUninit<u64>>();
        Self {
            chunks: (0..Storage::<T>::CHUNKS)
                // SAFETY: `i < CHUNKS` chunks lie inside `buf`.
                .map(|i| AtomicChunk::new(unsafe { src.add(i).read() }))
                .collect(),
            _t: core::marker::PhantomData,
        }
    }

    #[inline(always)]
    fn chunk(&self, i: usize) -> &AtomicChunk {
        &self.chunks[i]
    }

    pub(super) fn into_inner(self) -> T {
        // SAFETY: ownership: no write is in progress, so a whole `T`.
        unsafe { self.load(Ordering::Relaxed).assume_init().assume_init() }
    }
}

impl<T: Copy> Chunks<T> {
    /// Copies every chunk out with `order`, into an aligned buffer. The
    /// result is a whole `T` only if no write overlapped the copy.
    #[inline(always)]
    pub(super) fn load(&self, order: Ordering) -> MaybeUninit<Storage<T>> {
        let mut buf = MaybeUninit::<Storage<T>>::uninit();
        let dst = buf.as_mut_ptr().cast::<MaybeUninit<u64>>();
        for i in 0..Storage::<T>::CHUNKS {
            // SAFETY: `i < CHUNKS` chunks lie inside `buf`, 8-aligned.
            unsafe { dst.add(i).write(self.chunk(i).load(order)) };
        }
        buf
    }

    /// Stores `value` chunk by chunk with `order`. Callers serialise stores.
    #[inline(always)]
    pub(super) fn store(&self, value: &T, order: Ordering) {
        let buf = chunks_of(value);
        let src = buf.as_ptr().cast::<MaybeUninit<u64>>();
        for i in 0..Storage::<T>::CHUNKS {
            // SAFETY: `i < CHUNKS` chunks lie inside `buf`; reading them as
            // `MaybeUninit<u64>` is fine whatever bytes they hold.
            self.chunk(i).store(unsafe { src.add(i).read() }, order);
        }
    }
}
