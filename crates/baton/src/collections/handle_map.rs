//! [`HandleMap`]: a registry of values addressed by opaque 64-bit
//! [`Handle`]s, for foreign code that must not hold pointers (Go's cgo
//! rules, C callbacks, other processes).
//!
//! # Handle layout
//!
//! | bits | field | values |
//! |---|---|---|
//! | 63..52 (12) | map tag | `1..=4095`, unique among live maps (see "Map tags"); 0 never |
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
//! | issued by a dropped map | [`HandleError::WrongMap`] while no live map has its tag; [`HandleError::Stale`] or [`HandleError::Invalid`] from the map that reuses the tag; never `Ok` |
//! | 0, tag or generation 0, index past every slot, or a generation this slot never issued | [`HandleError::Invalid`] |
//!
//! A forged value can only be mistaken for a live handle if it guesses the
//! tag (1 in 4095), an allocated index and that slot's current generation
//! (1 in ~10^6): never undefined behaviour, only a wrong-but-valid value
//! with odds like those (the same as any generational index). A handle
//! that some map really issued is never mistaken for another value.
//!
//! # Map tags
//!
//! Twelve bits name 4095 maps, so tags are *leased*, not counted: a
//! process-wide table (`TAGS`, under a mutex taken only by
//! [`HandleMap::try_new`] and by a map's drop) records which tags live maps
//! hold, and a new map takes the next free tag after the last one issued
//! (round robin, so a dropped map's tag is reused as late as possible).
//! With 4095 maps alive, [`HandleMap::try_new`] returns [`TooManyMaps`] and
//! [`HandleMap::new`] panics saying so.
//!
//! Reusing a tag must not let the dropped map's handles resolve in its
//! successor. So a map's drop leaves its **generation floors** in the
//! table: for each index it ever used, the last generation it issued
//! there. The next map with that tag inherits them and starts each new
//! slot one generation above its floor (a floor already at the maximum
//! retires the index at once), exactly as if the old map had gone on
//! living with every value removed. An old handle therefore finds a slot
//! with a newer generation (`Stale`), or no slot (`Invalid`), never its
//! successor's value. The cost: 4 bytes per index a dropped map used, held
//! in the table until the tag's next map takes it over (a map that held a
//! million values leaves 4 MB behind; its values themselves are freed).
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
//! - No two live maps share a tag. For every handle ever issued under a
//!   tag, the tag's current map (if any) has, at that index, no slot or a
//!   slot whose generation is at least the handle's, and `Some` only with
//!   a generation above it; the table's floors carry this across maps.
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
use std::collections::BTreeMap;

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
/// The tags leased to maps: `1..=TAG_LEASED`. All of them, except under
/// loom, where two tags let a model reach exhaustion and reuse.
const TAG_LEASED: u64 = if cfg!(loom) { 2 } else { TAG_MAX };
/// The last generation a slot may carry; after it, the slot is retired.
/// Shrunk under loom so that a model can reach retirement.
const GEN_MAX: u32 = if cfg!(loom) { 2 } else { (1 << GEN_BITS) - 1 };
const INDEX_MAX: u64 = (1 << INDEX_BITS) - 1;

/// The process-wide tag table: which tags live maps hold, the round-robin
/// cursor, and the generation floors dropped maps left behind. Guarded by
/// `TAGS`'s mutex, taken only when a map is created or dropped.
struct Tags {
    /// Bit `t` set: tag `t` is held by a live map. Bit 0 (tag 0) is never
    /// issued and stays clear.
    live: [u64; (TAG_MAX as usize + 1) / 64],
    /// The last tag issued; the search for a free one starts after it.
    cursor: u16,
    /// Per free tag whose map(s) issued handles: generation floors by
    /// index (see "Map tags"). Taken out while a map holds the tag.
    floors: BTreeMap<u16, Box<[u32]>>,
}

impl Tags {
    const fn new() -> Self {
        Self {
            live: [0; (TAG_MAX as usize + 1) / 64],
            cursor: 0,
            floors: BTreeMap::new(),
        }
    }

    fn is_live(&self, tag: u16) -> bool {
        self.live[usize::from(tag) / 64] & (1 << (tag % 64)) != 0
    }

    /// Leases the next free tag after the cursor, with its floors.
    fn lease(&mut self) -> Result<(u16, Box<[u32]>), TooManyMaps> {
        let start = self.cursor;
        for step in 1..=TAG_LEASED as u16 {
            // Tags cycle through 1..=TAG_LEASED.
            let tag = ((u64::from(start) + u64::from(step) - 1) % TAG_LEASED + 1) as u16;
            if !self.is_live(tag) {
                self.live[usize::from(tag) / 64] |= 1 << (tag % 64);
                self.cursor = tag;
                let floors = self.floors.remove(&tag).unwrap_or_default();
                return Ok((tag, floors));
            }
        }
        Err(TooManyMaps)
    }

    /// Gives `tag` back, leaving `floors` for its next map.
    fn release(&mut self, tag: u16, floors: Box<[u32]>) {
        assert!(
            self.is_live(tag),
            "HandleMap: tag {tag} released twice (tag table corrupted)"
        );
        self.live[usize::from(tag) / 64] &= !(1 << (tag % 64));
        if !floors.is_empty() {
            self.floors.insert(tag, floors);
        }
    }
}

#[cfg(not(loom))]
static TAGS: shim::Mutex<Tags> = shim::Mutex::new(Tags::new());

#[cfg(loom)]
loom::lazy_static! {
    static ref TAGS: shim::Mutex<Tags> = shim::Mutex::new(Tags::new());
}

/// Every one of the 4095 map tags is held by a live [`HandleMap`]: drop a
/// map to free one. Returned by [`HandleMap::try_new`] and
/// [`HandleMap::try_with_shards`].
///
/// ```
/// use baton::collections::{HandleMap, TooManyMaps};
///
/// let maps: Vec<HandleMap<u8>> = std::iter::from_fn(|| HandleMap::try_new().ok()).collect();
/// assert!(maps.len() <= 4095); // others in this process may hold tags too
/// assert_eq!(HandleMap::<u8>::try_new().unwrap_err(), TooManyMaps);
/// drop(maps);
/// assert!(HandleMap::<u8>::try_new().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TooManyMaps;

impl fmt::Display for TooManyMaps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "all {TAG_LEASED} HandleMap tags are held by live maps (a handle has 12 bits to \
             name its map); drop a map to free its tag"
        )
    }
}

impl std::error::Error for TooManyMaps {}

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
    /// This map's tag, immutable; leased from `TAGS` until drop.
    tag: u16,
    /// `log2(shards.len())`.
    shard_bits: u32,
    /// Generation floors by index, inherited with the tag (see "Map tags");
    /// immutable until drop. Empty for a tag never used before.
    floors: Box<[u32]>,
}

impl<T> HandleMap<T> {
    /// An empty map with four shards per core (a power of two; not
    /// [`default_shards`](super::default_shards), which `ShardedMap` uses).
    ///
    /// # Panics
    ///
    /// If 4095 maps are alive already (see [`try_new`](Self::try_new)).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::new();
    /// assert_eq!(m.len(), 0);
    /// ```
    #[track_caller]
    pub fn new() -> Self {
        Self::with_shards(super::sharded_map::four_per_core())
    }

    /// As [`new`](Self::new), but with 4095 maps alive (each map's handles
    /// carry a 12-bit tag that no other live map has), returns
    /// [`TooManyMaps`] instead of panicking.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::try_new().expect("a free tag");
    /// assert!(m.is_empty());
    /// ```
    pub fn try_new() -> Result<Self, TooManyMaps> {
        Self::try_with_shards(super::sharded_map::four_per_core())
    }

    /// An empty map with `n` shards.
    ///
    /// # Panics
    ///
    /// If `n` is not a power of two, or is above 65536; if 4095 maps are
    /// alive already (see [`try_with_shards`](Self::try_with_shards)).
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::with_shards(64);
    /// let h = m.insert(5);
    /// assert_eq!(m.get(h), Ok(5));
    /// ```
    #[track_caller]
    pub fn with_shards(n: usize) -> Self {
        match Self::try_with_shards(n) {
            Ok(m) => m,
            Err(e) => panic!("HandleMap::new: {e}"),
        }
    }

    /// As [`with_shards`](Self::with_shards), but with 4095 maps alive,
    /// returns [`TooManyMaps`] instead of panicking.
    ///
    /// # Panics
    ///
    /// If `n` is not a power of two, or is above 65536.
    ///
    /// ```
    /// let m = baton::collections::HandleMap::<u32>::try_with_shards(4).unwrap();
    /// assert_eq!(m.get(m.insert(1)), Ok(1));
    /// ```
    pub fn try_with_shards(n: usize) -> Result<Self, TooManyMaps> {
        assert!(
            n.is_power_of_two() && n <= 1 << 16,
            "HandleMap: the shard count must be a power of two in 1..=65536, got {n}"
        );
        let (tag, floors) = shim::lock(&TAGS).lease()?;
        Ok(Self {
            shards: (0..n)
                .map(|_| CachePadded::new(RwLock::new(Slab::new())))
                .collect(),
            tag,
            shard_bits: n.trailing_zeros(),
            floors,
        })
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
            None => self.push_slot(&mut slab, shard, value),
        };
        slab.len += 1;
        let index = (slot << self.shard_bits) | shard as u32;
        Handle::pack(self.tag, generation, index)
    }

    /// Appends a slot to `shard`'s slab holding `value`: `(slot,
    /// generation)`. The slot starts one generation above its index's
    /// inherited floor; an index whose floor is at the maximum is retired
    /// on the spot and the next one tried (see "Map tags").
    fn push_slot(&self, slab: &mut Slab<T>, shard: usize, value: T) -> (u32, u32) {
        loop {
            let slot = slab.slots.len() as u64;
            assert!(
                slot < (INDEX_MAX + 1) >> self.shard_bits,
                "HandleMap: shard {shard} is full ({slot} slots)"
            );
            let index = (slot << self.shard_bits) as usize | shard;
            let floor = self.floors.get(index).copied().unwrap_or(0);
            if floor >= GEN_MAX {
                // Retired: vacant at the last generation, never reused.
                slab.slots.push(Slot {
                    generation: GEN_MAX,
                    value: None,
                });
                continue;
            }
            slab.slots.push(Slot {
                generation: floor + 1,
                value: Some(value),
            });
            return (slot as u32, floor + 1);
        }
    }

    /// The generation floors this map leaves to its tag's next map: by
    /// index, the last generation issued there by this map or before it.
    fn floors_left(&mut self) -> Box<[u32]> {
        let shard_bits = self.shard_bits;
        let mut out = core::mem::take(&mut self.floors).into_vec();
        for (shard, s) in self.shards.iter_mut().enumerate() {
            let slab = s.get_mut();
            for (slot, x) in slab.slots.iter().enumerate() {
                let index = (slot << shard_bits) | shard;
                if index >= out.len() {
                    out.resize(index + 1, 0);
                }
                out[index] = out[index].max(x.generation);
            }
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        out.into_boxed_slice()
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

impl<T> Drop for HandleMap<T> {
    fn drop(&mut self) {
        let floors = self.floors_left();
        shim::lock(&TAGS).release(self.tag, floors);
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

    /// Creates maps until one gets `tag` (other tests in this process
    /// create maps too, so it may take more than one round of the tags).
    fn map_with_tag(tag: u16, shards: usize) -> HandleMap<u32> {
        for _ in 0..4 * TAG_MAX {
            let m = HandleMap::with_shards(shards);
            if m.tag == tag {
                return m;
            }
        }
        panic!("tag {tag} never came round again");
    }

    #[test]
    fn live_maps_never_share_a_tag() {
        let maps: Vec<HandleMap<u8>> = (0..200).map(|_| HandleMap::with_shards(1)).collect();
        let mut tags: Vec<u16> = maps.iter().map(|m| m.tag).collect();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), maps.len());
        assert!(tags.iter().all(|&t| t != 0 && u64::from(t) <= TAG_MAX));
    }

    #[test]
    fn a_reused_tag_never_resolves_the_old_maps_handles() {
        let a = HandleMap::with_shards(2);
        // Slot 0 of shard 0 cycled to generation 5; one value still live.
        let mut h = a.insert(0);
        for i in 1..5 {
            a.remove(h).unwrap();
            h = a.insert(i);
        }
        let kept = a.insert(100);
        let tag = a.tag;
        let (old_gens, old_index) = (h.unpack().1, h.unpack().2);
        assert_eq!(old_gens, 5);
        drop(a);
        // The tag's next map has 4 shards (another index layout): the
        // floors go by index, so they still hold.
        let b = map_with_tag(tag, 4);
        let fresh: Vec<Handle> = (0..16).map(|i| b.insert(1000 + i)).collect();
        for old in [h, kept] {
            let got = b.get(old);
            assert!(
                matches!(got, Err(HandleError::Stale | HandleError::Invalid)),
                "{old:?} of the dropped map gave {got:?} from its tag's new map"
            );
        }
        for (i, f) in fresh.iter().enumerate() {
            assert_eq!(b.get(*f), Ok(1000 + i as u32));
            if f.unpack().2 == old_index {
                assert!(f.unpack().1 > old_gens, "issued above the floor");
            }
        }
    }

    #[test]
    fn a_floor_at_the_last_generation_retires_the_index() {
        let mut m = HandleMap::with_shards(1);
        m.floors = vec![GEN_MAX, 3].into_boxed_slice();
        let h = m.insert(7u32);
        assert_eq!(h.unpack().2, 1, "index 0 is retired");
        assert_eq!(h.unpack().1, 4, "one above the floor");
        assert_eq!(
            m.get(Handle::pack(m.tag, GEN_MAX, 0)),
            Err(HandleError::Stale)
        );
        assert_eq!(m.get(Handle::pack(m.tag, 3, 1)), Err(HandleError::Stale));
        m.remove(h).unwrap();
        assert_eq!(m.len(), 0);
        let h2 = m.insert(8);
        assert_eq!(h2.unpack(), (m.tag, 5, 1), "the live slot is reused");
        assert_eq!(&*m.floors_left(), &[GEN_MAX, 5]);
    }

    /// The model of one live map in `handles_agree_with_a_model`.
    struct Live {
        id: usize,
        map: HandleMap<u64>,
    }

    /// A handle some map issued, as the model knows it.
    struct Issued {
        map_id: usize,
        h: Handle,
        value: u64,
        removed: bool,
    }

    /// Property test: maps are created and dropped at random, values
    /// inserted and removed, and handles (of live maps, of dropped maps,
    /// forged) fed to random live maps; every answer is checked against a
    /// model. Thousands of maps go by, so tags are reused many times.
    #[test]
    fn handles_agree_with_a_model() {
        let mut rng = XorShift(0x5eed_1234_abcd_0001);
        let mut live: Vec<Live> = Vec::new();
        let mut alive = std::collections::HashSet::new();
        let mut issued: Vec<Issued> = Vec::new();
        let mut every_raw = std::collections::HashSet::new();
        let (mut next_id, mut next_value) = (0usize, 0u64);
        let mut reused_tag_checks = 0u64;
        for _ in 0..300_000 {
            let op = rng.next() % 100;
            if live.is_empty() || (op < 12 && live.len() < 8) {
                let shards = 1 << (rng.next() % 4);
                live.push(Live {
                    id: next_id,
                    map: HandleMap::with_shards(shards),
                });
                alive.insert(next_id);
                next_id += 1;
            } else if op < 24 {
                let gone = live.swap_remove((rng.next() % live.len() as u64) as usize);
                alive.remove(&gone.id);
            } else if op < 50 {
                let m = &live[(rng.next() % live.len() as u64) as usize];
                let h = m.map.insert(next_value);
                assert!(every_raw.insert(h.to_raw()), "{h:?} issued twice");
                let entry = Issued {
                    map_id: m.id,
                    h,
                    value: next_value,
                    removed: false,
                };
                next_value += 1;
                if issued.len() < 20_000 {
                    issued.push(entry);
                } else {
                    // Keep a random sample, old handles included.
                    let at = (rng.next() % issued.len() as u64) as usize;
                    issued[at] = entry;
                }
            } else if op < 95 && !issued.is_empty() {
                let i = (rng.next() % issued.len() as u64) as usize;
                // A third of the time ask the issuing map if it lives, a
                // third a live map with the handle's tag (its issuer, or
                // the map that reused a dropped map's tag), else any.
                let tag = issued[i].h.unpack().0;
                let pick = match rng.next() % 3 {
                    0 => live.iter().position(|m| m.id == issued[i].map_id),
                    1 => live.iter().position(|m| m.map.tag == tag),
                    _ => None,
                };
                let m = &live[pick.unwrap_or((rng.next() % live.len() as u64) as usize)];
                let it = &issued[i];
                let removing = op >= 85;
                let got = if removing {
                    m.map.remove(it.h)
                } else {
                    m.map.get(it.h)
                };
                if it.map_id == m.id {
                    let want = if it.removed {
                        Err(HandleError::Stale)
                    } else {
                        Ok(it.value)
                    };
                    assert_eq!(got, want, "{:?} in its own map", it.h);
                    if removing && got.is_ok() {
                        issued[i].removed = true;
                    }
                } else if alive.contains(&it.map_id) {
                    assert_eq!(
                        got,
                        Err(HandleError::WrongMap),
                        "{:?}: another live map's",
                        it.h
                    );
                } else if it.h.unpack().0 != m.map.tag {
                    assert_eq!(
                        got,
                        Err(HandleError::WrongMap),
                        "{:?}: a dropped map's",
                        it.h
                    );
                } else {
                    reused_tag_checks += 1;
                    assert!(
                        matches!(got, Err(HandleError::Stale | HandleError::Invalid)),
                        "{:?} of a dropped map resolved in its tag's new map: {got:?}",
                        it.h
                    );
                }
            } else if op == 95 {
                // Every known handle of a dropped map with this live map's
                // tag: the map that reused the tag must refuse them all.
                let m = &live[(rng.next() % live.len() as u64) as usize];
                for it in &issued {
                    if it.h.unpack().0 == m.map.tag && !alive.contains(&it.map_id) {
                        reused_tag_checks += 1;
                        let got = m.map.get(it.h);
                        assert!(
                            matches!(got, Err(HandleError::Stale | HandleError::Invalid)),
                            "{:?} of a dropped map resolved in its tag's new map: {got:?}",
                            it.h
                        );
                    }
                }
            } else {
                let m = &live[(rng.next() % live.len() as u64) as usize];
                let raw = rng.next();
                if !every_raw.contains(&raw) {
                    assert!(
                        m.map.get(Handle::from_raw(raw)).is_err(),
                        "{raw:#x} resolved"
                    );
                }
            }
        }
        assert!(
            next_id > 3 * TAG_MAX as usize,
            "tags went round: {next_id} maps"
        );
        assert!(
            reused_tag_checks > 1000,
            "dropped maps' handles met their tag's new map {reused_tag_checks} times"
        );
    }

    #[test]
    fn slot_retires_at_max_generation() {
        let m = HandleMap::with_shards(1);
        let mut h = m.insert(0u32);
        let first_index = h.unpack().2;
        // Not necessarily 1: the tag may come with a dropped map's floors.
        let first_generation = h.unpack().1;
        for i in first_generation..GEN_MAX {
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
