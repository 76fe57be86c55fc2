//! [`FxBuildHasher`]: the default hasher of [`ShardedMap`](super::ShardedMap).
//!
//! # The algorithm
//!
//! Per 8-byte word (Firefox's and rustc's "Fx" hash):
//! `h = (h.rotl(5) ^ word) * K`, with `K` an odd 64-bit constant. One
//! rotate, one xor and one multiply per word: several times cheaper than
//! std's SipHash-1-3 for small keys. A multiply only carries information
//! *upwards* (bit `i` of the product depends on bits `0..=i` of the input),
//! so a plain Fx hash has weak low bits and strong high bits. `finish`
//! therefore folds the 128-bit product `h * K2` (high half xor low half:
//! one `mul` on x86-64 and aarch64), which spreads every input bit over
//! every output bit. That matters twice here:
//!
//! - the inner `HashMap` (hashbrown) takes the *bucket* from the low bits
//!   and a 7-bit *tag* from the top 7 bits;
//! - [`ShardedMap`](super::ShardedMap) takes the *shard* from the bits just
//!   below those top 7 (see `ShardedMap::shard_of`), so that within one
//!   shard the bucket bits and the tag bits still vary freely (taking the
//!   shard from the top bits would leave every key of a shard with the same
//!   few tag values, and hashbrown's group probe would compare more keys).
//!
//! # HashDoS
//!
//! The hash has no secret key: someone who chooses the keys (a remote
//! client choosing strings, say) can make them collide and turn each
//! operation into a linear scan. For keys an attacker controls, pass
//! `std::collections::hash_map::RandomState` (SipHash with a random key):
//! `ShardedMap::with_hasher(RandomState::new())`.

use core::hash::{BuildHasher, Hasher};

/// Fx's multiplier (from rustc-hash): odd, with well-spread bits.
const K: u64 = 0xf135_7aea_2e62_a9c5;
/// The finishing multiplier (from foldhash / the "folded multiply"
/// literature): any odd constant with about half its bits set works.
const K_FINISH: u64 = 0x243f_6a88_85a3_08d3;

/// A fast, unkeyed, non-cryptographic hasher (see the module docs for the
/// algorithm and the HashDoS trade-off).
///
/// ```
/// use baton::collections::FxHasher;
/// use std::hash::Hasher;
///
/// let mut a = FxHasher::default();
/// a.write_u64(42);
/// let mut b = FxHasher::default();
/// b.write_u64(42);
/// assert_eq!(a.finish(), b.finish()); // deterministic: no random key
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
        // The length, so that "ab" + "c" and "a" + "bc" differ.
        self.add(bytes.len() as u64);
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let full = u128::from(self.hash) * u128::from(K_FINISH);
        (full as u64) ^ ((full >> 64) as u64)
    }
}

/// Builds [`FxHasher`]s: the default `S` of
/// [`ShardedMap`](super::ShardedMap).
///
/// ```
/// use baton::collections::FxBuildHasher;
/// use std::collections::HashMap;
///
/// let mut m: HashMap<u32, &str, FxBuildHasher> = HashMap::default();
/// m.insert(1, "one");
/// assert_eq!(m[&1], "one");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FxBuildHasher;

impl BuildHasher for FxBuildHasher {
    type Hasher = FxHasher;

    #[inline]
    fn build_hasher(&self) -> FxHasher {
        FxHasher::default()
    }
}
