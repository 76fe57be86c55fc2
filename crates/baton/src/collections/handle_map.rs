//! [`HandleMap`]: a registry of values addressed by opaque 64-bit
//! [`Handle`]s, for foreign code that must not hold pointers (Go's cgo
//! rules, C callbacks, other processes).
//!
//! # Handle layout
//!
//! | bits | field | values |
//! |---|---|---|
//! | 63..52 (12) | map tag | `1..=4095`, from a global counter at `new`; 0 never |
//! | 51..32 (20) | generation | `1..=0xF_FFFF`; 0 never |
//! | 31..0 (32) | index | `slot * shards + shard` |
//!
//! Because tag and generation are never 0, the raw value 0 is never a
//! valid handle (C code can use 0 as "none"). [`Handle::pack`] and
//! [`Handle::unpack`] are the only code that knows the shifts.
//!
//! # Lookup outcomes
//!
//! | handle | result |
//! |---|---|
//! | issued by this map, value still there | `Ok` |
//! | issued by this map, value removed (the slot may hold a newer value) | [`HandleError::Stale`] |
//! | tag of another live map | [`HandleError::WrongMap`] |
//! | 0, tag or generation 0, index past every slot, or a generation this slot never issued | [`HandleError::Invalid`] |
//!
//! A forged value can only be mistaken for a live handle if it guesses the
//! tag (1 in 4095), an allocated index and that slot's current generation
//! (1 in ~10^6): never undefined behaviour, only a wrong-but-valid value
//! with odds like those (the same as any generational index).
//!
//! # Design: sharded slabs
//!
//! `N` shards (a power of two), each a `CachePadded<RwLock<Slab>>`: a
//! vector of slots, a free list of vacant slot numbers, and a count. A
//! handle's shard is `index % N`, so a lookup takes one shard's *read*
//! lock: lookups of handles in different shards touch different cache
//! lines, and lookups in the same shard share the lock. An insert takes
//! the write lock of the shard numbered by the inserting thread
//! (`thread_index % N`): threads inserting at once rarely meet, and a
//! thread's values stay together. There are no atomics of its own; each
//! slab is plain data under its lock, so no memory ordering needs arguing.
//!
//! # Invariants
//!
//! - A slot's generation is the generation of the last handle issued for
//!   it; its value is `Some` exactly while that handle is live.
//! - A vacant slot is on its shard's free list iff its generation is below
//!   the maximum; a slot whose generation reached the maximum is
//!   **retired**: never reused, so no handle is ever issued twice (it
//!   costs one empty slot per million reuses of that slot).
//! - `len` of a shard = number of `Some` slots in it.
//!
//! # Alternatives rejected
//!
//! - One `RwLock<HashMap<u64, T>>` and an atomic id (the background's "big
//!   old map"): every insert and remove stops every lookup.
//! - Lock-free reads (sharded-slab's design: per-slot atomic lifecycle
//!   word and reference count). Lookups write nothing shared at all, but
//!   `with` would have to pin the slot with a reference count, and
//!   removal would have to wait for or defer to the last reader: far more
//!   unsafe code for a gain the `handles` experiment can show only at high
//!   core counts, since with `N` ≥ 4 × cores shards read locks rarely meet.
//! - A hash map keyed by handle: hashing and probing where an index into a
//!   vector suffices.

use core::fmt;

use crate::atomic::thread_index::thread_index;
use crate::atomic::CachePadded;
use crate::shim;
use crate::sync::RwLock;

/// This container's name in re-entry panics (`RwLock::read_in`).
const MAP: &str = "HandleMap";

/// Bits of the map tag.
const TAG_BITS: u32 = 12;
/// Bits of the generation.
const GEN_BITS: u32 = 20;
/// Bits of the index.
const INDEX_BITS: u32 = 32;
const TAG_SHIFT: u32 = GEN_BITS + INDEX_BITS;
const GEN_SHIFT: u32 = INDEX_BITS;
const TAG_MAX: u64 = (1 << TAG_BITS) - 1;
/// The last generation a slot may carry; after it, the slot is retired.
/// Shrunk under loom so that a model can reach retirement.
const GEN_MAX: u32 = if cfg!(loom) { 2 } else { (1 << GEN_BITS) - 1 };
const INDEX_MAX: u64 = (1 << INDEX_BITS) - 1;

#[cfg(not(loom))]
static NEXT_TAG: shim::atomic::AtomicU64 = shim::atomic::AtomicU64::new(0);

#[cfg(loom)]
loom::lazy_static! {
    static ref NEXT_TAG: shim::atomic::AtomicU64 = shim::atomic::AtomicU64::new(0);
}

/// The next map tag, cycling through `1..=4095`. Relaxed: the tag only has
/// to differ from recent ones; nothing is published through it.
fn next_tag() -> u16 {
    let n = NEXT_TAG.fetch_add(1, shim::atomic::Ordering::Relaxed);
    (n % TAG_MAX + 1) as u16
}

/// An opaque reference to a value in a [`HandleMap`]: a `u64` that packs a
/// map tag, a generation and an index (layout in the module docs). Never 0
/// when issued by a map.
///
/// ```
/// use baton::collections::{Handle, HandleMap};
///
/// let m = HandleMap::new();
/// let h = m.insert("value");
/// let raw: u64 = h.to_raw(); // hand this to foreign code
/// assert_ne!(raw, 0);
/// assert_eq!(m.get(Handle::from_raw(raw)), Ok("value"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(u64);

impl Handle {
    /// The raw `u64`, for foreign code.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// assert_ne!(m.insert(1).to_raw(), 0);
    /// ```
    #[inline]
    pub const fn to_raw(self) -> u64 {
        self.0
    }

    /// A handle from a raw `u64`. Any value is accepted; the map checks it
    /// on use (a made-up value gives an error, never undefined behaviour).
    ///
    /// ```
    /// use baton::collections::{Handle, HandleError, HandleMap};
    ///
    /// let m = HandleMap::<u8>::new();
    /// assert_eq!(m.get(Handle::from_raw(0)), Err(HandleError::Invalid));
    /// ```
    #[inline]
    pub const fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// Packs the fields; each must fit its width (checked in debug builds;
    /// the map never passes anything else).
    #[inline]
    fn pack(tag: u16, generation: u32, index: u32) -> Self {
        debug_assert!(u64::from(tag) <= TAG_MAX && generation <= GEN_MAX);
        Self(
            (u64::from(tag) << TAG_SHIFT) | (u64::from(generation) << GEN_SHIFT) | u64::from(index),
        )
    }

    /// `(tag, generation, index)`.
    #[inline]
    fn unpack(self) -> (u16, u32, u32) {
        let tag = (self.0 >> TAG_SHIFT) as u16;
        let generation = ((self.0 >> GEN_SHIFT) & ((1 << GEN_BITS) - 1)) as u32;
        let index = (self.0 & INDEX_MAX) as u32;
        (tag, generation, index)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tag, generation, index) = self.unpack();
        write!(
            f,
            "Handle({:#x}: tag {tag}, gen {generation}, index {index})",
            self.0
        )
    }
}

/// Why a [`Handle`] did not resolve.
///
/// ```
/// use baton::collections::{HandleError, HandleMap};
///
/// let a = HandleMap::new();
/// let b = HandleMap::<i32>::new();
/// let h = a.insert(1);
/// assert_eq!(b.get(h), Err(HandleError::WrongMap));
/// a.remove(h).unwrap();
/// assert_eq!(a.get(h), Err(HandleError::Stale));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandleError {
    /// Never issued by this map layout: 0, a zero field, an index past
    /// every slot, or a generation the slot never had.
    Invalid,
    /// Issued by this map, but its value has been removed.
    Stale,
    /// Issued by another map (its tag differs).
    WrongMap,
}

impl fmt::Display for HandleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Invalid => "invalid handle: never issued by a HandleMap",
            Self::Stale => "stale handle: its value was removed",
            Self::WrongMap => "handle from a different HandleMap",
        })
    }
}

impl std::error::Error for HandleError {}

/// One slot: see the invariants in the module docs.
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// One shard's slots; all fields guarded by the shard's lock.
struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Vacant, reusable slot numbers; LIFO, so a hot insert/remove cycle
    /// reuses a slot that is still in cache.
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// The live value of `(slot, generation)`.
    #[inline]
    fn lookup(&self, slot: u32, generation: u32) -> Result<&T, HandleError> {
        let s = self.slots.get(slot as usize).ok_or(HandleError::Invalid)?;
        match (generation.cmp(&s.generation), &s.value) {
            (core::cmp::Ordering::Equal, Some(v)) => Ok(v),
            (core::cmp::Ordering::Greater, _) => Err(HandleError::Invalid),
            _ => Err(HandleError::Stale),
        }
    }
}

/// A concurrent registry from [`Handle`]s to values. See the module docs
/// for the handle layout, the sharded design and the invariants.
///
/// ```
/// use baton::collections::HandleMap;
///
/// let sessions = HandleMap::new();
/// let h = sessions.insert(String::from("alice"));
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| assert_eq!(sessions.with(h, |name| name.len()), Ok(5)));
///     }
/// });
/// assert_eq!(sessions.remove(h).as_deref(), Ok("alice"));
/// assert!(sessions.is_empty());
/// ```
///
/// No reference into the map outlives a call:
///
/// ```compile_fail
/// let m = baton::collections::HandleMap::new();
/// let h = m.insert(String::from("x"));
/// let escaped: &String = m.with(h, |v| v).unwrap(); // error: lifetime may not live long enough
/// ```
pub struct HandleMap<T> {
    /// Immutable after `new`; a power of two many.
    shards: Box<[CachePadded<RwLock<Slab<T>>>]>,
    /// This map's tag, immutable.
    tag: u16,
    /// `log2(shards.len())`.
    shard_bits: u32,
}

impl<T> HandleMap<T> {
    /// An empty map with [`default_shards`](super::default_shards) shards
    /// (four per core, a power of two).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::new();
    /// assert_eq!(m.len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_shards(super::default_shards())
    }

    /// An empty map with `n` shards.
    ///
    /// # Panics
    ///
    /// If `n` is not a power of two, or is above 65536.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::with_shards(64);
    /// let h = m.insert(5);
    /// assert_eq!(m.get(h), Ok(5));
    /// ```
    pub fn with_shards(n: usize) -> Self {
        assert!(
            n.is_power_of_two() && n <= 1 << 16,
            "HandleMap: the shard count must be a power of two in 1..=65536, got {n}"
        );
        Self {
            shards: (0..n)
                .map(|_| CachePadded::new(RwLock::new(Slab::new())))
                .collect(),
            tag: next_tag(),
            shard_bits: n.trailing_zeros(),
        }
    }

    /// Stores `value` and returns its handle.
    ///
    /// # Panics
    ///
    /// If the inserting thread's shard already has `2^32 / shards` slots
    /// (billions of live or retired values).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// let a = m.insert('a');
    /// let b = m.insert('b');
    /// assert_ne!(a, b);
    /// ```
    #[inline]
    pub fn insert(&self, value: T) -> Handle {
        let shard = thread_index() & (self.shards.len() - 1);
        let mut slab = self.shards[shard].write_in(MAP);
        let (slot, generation) = match slab.free.pop() {
            Some(slot) => {
                let s = &mut slab.slots[slot as usize];
                debug_assert!(s.value.is_none() && s.generation < GEN_MAX);
                s.generation += 1;
                s.value = Some(value);
                (slot, s.generation)
            }
            None => {
                let slot = slab.slots.len() as u64;
                assert!(
                    slot < (INDEX_MAX + 1) >> self.shard_bits,
                    "HandleMap: shard {shard} is full ({slot} slots)"
                );
                slab.slots.push(Slot {
                    generation: 1,
                    value: Some(value),
                });
                (slot as u32, 1)
            }
        };
        slab.len += 1;
        let index = (slot << self.shard_bits) | shard as u32;
        Handle::pack(self.tag, generation, index)
    }

    /// `(shard, slot, generation)` of a handle of this map.
    #[inline]
    fn locate(&self, h: Handle) -> Result<(usize, u32, u32), HandleError> {
        let (tag, generation, index) = h.unpack();
        if tag == 0 || generation == 0 {
            return Err(HandleError::Invalid);
        }
        if tag != self.tag {
            return Err(HandleError::WrongMap);
        }
        let shard = index as usize & (self.shards.len() - 1);
        let slot = index.checked_shr(self.shard_bits).unwrap_or(0);
        Ok((shard, slot, generation))
    }

    /// Calls `f` on the value of `h` under its shard's read lock. `f` must
    /// not call this map (locks are not re-entrant; in debug builds a call
    /// that reaches the same shard panics with a message saying so).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// let h = m.insert(vec![1, 2, 3]);
    /// assert_eq!(m.with(h, |v| v.len()), Ok(3));
    /// ```
    #[inline]
    pub fn with<R>(&self, h: Handle, f: impl FnOnce(&T) -> R) -> Result<R, HandleError> {
        let (shard, slot, generation) = self.locate(h)?;
        let slab = self.shards[shard].read_in(MAP);
        slab.lookup(slot, generation).map(f)
    }

    /// Calls `f` on the value of `h` under its shard's write lock. `f` must
    /// not call this map.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// let h = m.insert(1);
    /// m.with_mut(h, |v| *v += 1).unwrap();
    /// assert_eq!(m.get(h), Ok(2));
    /// ```
    #[inline]
    pub fn with_mut<R>(&self, h: Handle, f: impl FnOnce(&mut T) -> R) -> Result<R, HandleError> {
        let (shard, slot, generation) = self.locate(h)?;
        let mut slab = self.shards[shard].write_in(MAP);
        slab.lookup(slot, generation)?;
        let v = slab.slots[slot as usize]
            .value
            .as_mut()
            .expect("HandleMap: slot checked live under the same lock");
        Ok(f(v))
    }

    /// A clone of the value of `h`.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// let h = m.insert("x".to_string());
    /// assert_eq!(m.get(h).as_deref(), Ok("x"));
    /// ```
    #[inline]
    pub fn get(&self, h: Handle) -> Result<T, HandleError>
    where
        T: Clone,
    {
        self.with(h, T::clone)
    }

    /// Removes the value of `h` and returns it; `h` (and every copy of it)
    /// is stale from then on.
    ///
    /// ```
    /// use baton::collections::{HandleError, HandleMap};
    ///
    /// let m = HandleMap::new();
    /// let h = m.insert(9);
    /// assert_eq!(m.remove(h), Ok(9));
    /// assert_eq!(m.remove(h), Err(HandleError::Stale));
    /// ```
    #[inline]
    pub fn remove(&self, h: Handle) -> Result<T, HandleError> {
        let (shard, slot, generation) = self.locate(h)?;
        let mut slab = self.shards[shard].write_in(MAP);
        slab.lookup(slot, generation)?;
        let s = &mut slab.slots[slot as usize];
        let value = s
            .value
            .take()
            .expect("HandleMap: slot checked live under the same lock");
        let reusable = s.generation < GEN_MAX;
        slab.len -= 1;
        if reusable {
            slab.free.push(slot);
        }
        Ok(value)
    }

    /// The number of values, summed shard by shard (not a snapshot while
    /// other threads insert or remove).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::new();
    /// m.insert(());
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read_in(MAP).len).sum()
    }

    /// Whether the map holds no values (shard by shard).
    ///
    /// ```
    /// assert!(baton::collections::HandleMap::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read_in(MAP).len == 0)
    }
}

impl<T> Default for HandleMap<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for HandleMap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandleMap")
            .field("tag", &self.tag)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
pub(super) mod layout_tests {
    use super::*;

    /// A tiny xorshift64* generator: deterministic, no dependency.
    pub(in crate::collections) struct XorShift(pub(in crate::collections) u64);

    impl XorShift {
        pub(in crate::collections) fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn layout_round_trips() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..100_000 {
            let tag = (rng.next() % TAG_MAX + 1) as u16;
            let generation = (rng.next() % u64::from(GEN_MAX) + 1) as u32;
            let index = rng.next() as u32;
            let h = Handle::pack(tag, generation, index);
            assert_ne!(h.to_raw(), 0);
            assert_eq!(h.unpack(), (tag, generation, index));
            assert_eq!(Handle::from_raw(h.to_raw()), h);
        }
    }

    #[test]
    fn fields_do_not_overlap() {
        assert_eq!(TAG_BITS + GEN_BITS + INDEX_BITS, 64);
        let all = Handle::pack(TAG_MAX as u16, GEN_MAX, u32::MAX);
        assert_eq!(all.to_raw(), u64::MAX);
        assert_eq!(Handle::pack(1, 0, 0).to_raw(), 1 << 52);
        assert_eq!(Handle::pack(0, 1, 0).to_raw(), 1 << 32);
    }

    #[test]
    fn forged_handles_only_give_errors() {
        let m = HandleMap::with_shards(8);
        let live: Vec<Handle> = (0..1000).map(|i| m.insert(i)).collect();
        for h in &live[..500] {
            m.remove(*h).unwrap();
        }
        let mut rng = XorShift(12345);
        for _ in 0..200_000 {
            let raw = rng.next();
            if live.iter().any(|h| h.to_raw() == raw) {
                continue;
            }
            assert!(m.get(Handle::from_raw(raw)).is_err(), "{raw:#x} resolved");
        }
        // 0 and values with one zero field are Invalid.
        assert_eq!(m.get(Handle::from_raw(0)), Err(HandleError::Invalid));
        let (tag, _, index) = live[600].unpack();
        assert_eq!(
            m.get(Handle::pack(tag, 0, index)),
            Err(HandleError::Invalid)
        );
    }

    #[test]
    fn slot_retires_at_max_generation() {
        let m = HandleMap::with_shards(1);
        let mut h = m.insert(0u32);
        let first_index = h.unpack().2;
        for i in 1..GEN_MAX {
            m.remove(h).unwrap();
            h = m.insert(i);
            assert_eq!(h.unpack().2, first_index, "reuses the one slot");
            assert_eq!(h.unpack().1, i + 1);
        }
        assert_eq!(h.unpack().1, GEN_MAX);
        m.remove(h).unwrap();
        let next = m.insert(7);
        assert_ne!(
            next.unpack().2,
            first_index,
            "a slot at the last generation is retired"
        );
        assert_eq!(m.get(h), Err(HandleError::Stale));
        assert_eq!(m.get(next), Ok(7));
    }
}
