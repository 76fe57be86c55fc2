//! [`Bucket`]: the token bucket as GCRA on one packed atomic word, with
//! its limit and burst in two configuration slots. Time here is an `i64`
//! of nanoseconds from the limiter's epoch (the [`Limiter`](super::Limiter)
//! converts `Instant`s), so loom can model this file without a clock.
//!
//! ## GCRA: the bucket as one time
//!
//! Go keeps `(tokens, last)` under a mutex. GCRA (the generic cell rate
//! algorithm) keeps one time instead, the *theoretical arrival time* `tat`:
//! the moment the bucket will be full again. With `T` the time one token
//! takes to refill (`1 / limit`) and `b` the burst, the tokens at time `t`
//! are
//!
//! ```text
//! tokens(t) = b - max(0, tat - t) / T
//! ```
//!
//! Taking `n` tokens at `t` moves `tat` to `max(tat, t) + n·T`; the caller
//! may act once the bucket would not be overdrawn, after
//! `delay = max(0, tat' - t - b·T)`. A reservation in the future is a `tat`
//! more than `b·T` ahead (negative tokens, as in Go).
//!
//! ## The packed word
//!
//! | bits  | field | meaning |
//! |-------|-------|---------|
//! | 63..60 | `gen` | which configuration slot (`gen & 1`) describes the field; bumped by every `set_limit`/`set_burst` |
//! | 59..0 | `field` | biased `i64`: `tat` in ns for a finite non-zero limit; the tokens used so far for a zero limit; unused for `Limit::INF` |
//!
//! The field holds ±2⁵⁹ ns (±18 years) around the epoch; times beyond
//! saturate. [`Word`] packs and unpacks; nothing else shifts bits.
//!
//! ## Invariants
//!
//! - Only a setter changes `gen`, and setters hold `setter` from the
//!   moment they write the next slot until their CAS has moved the word to
//!   it. So the word's `gen` is always the newest slot's, or (during a
//!   setter's CAS loop) the one before it; the slot of the word's `gen` is
//!   never written while the word is at that `gen`.
//! - A reservation never changes the word unless it succeeds; a failed
//!   `allow` is one load.
//!
//! ## Orderings
//!
//! A setter writes the next slot with `Release` stores and publishes it
//! with a `Release` CAS of the word. Every reader loads the word with
//! `Acquire` and then the slot its `gen` names (`Acquire`): it sees that
//! slot as the setter wrote it. Plain reservations CAS with `Relaxed` on
//! success: they publish no data, and an RMW continues the setter's release
//! sequence, so later `Acquire` loads still synchronise with the setter.
//!
//! A reader may load the word, be overtaken by two setters (the second
//! rewrites the slot it is about to read), and read a mix of old and new
//! values. Such a reader computes garbage but cannot act on it: its CAS
//! expects the old word and fails. That needs the slot read to happen
//! after the first setter's CAS in a way the CAS must respect: the second
//! setter wrote the slot after (under the mutex) the first setter's CAS,
//! with `Release`, and the reader read it with `Acquire`, so the reader's
//! CAS happens after the first setter's and reads a newer word. Read-only
//! paths ([`Bucket::tokens`], [`Bucket::config`]) re-load the word after
//! reading the slot (a seqlock read: `Acquire` fence, then compare) and
//! retry if it moved. The `gen` is four bits: a reader would have to be
//! overtaken by exactly sixteen setters, ending on its own tat, to be
//! fooled, which we accept.

use crate::atomic::CachePadded;
use crate::shim::atomic::{fence, AtomicU64, Ordering::*};
use crate::shim::{lock, Mutex};

const GEN_BITS: u32 = 4;
const FIELD_BITS: u32 = 64 - GEN_BITS;
const FIELD_MASK: u64 = (1 << FIELD_BITS) - 1;
const GEN_MASK: u32 = (1 << GEN_BITS) - 1;
const BIAS: i64 = 1 << (FIELD_BITS - 1);
/// The smallest time (or count) the word holds.
pub(crate) const FIELD_MIN: i64 = -BIAS;
/// The largest time (or count) the word holds: "never".
pub(crate) const FIELD_MAX: i64 = BIAS - 1;

/// The unpacked word (see the module docs' table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Word {
    gen: u32,
    field: i64,
}

impl Word {
    fn pack(self) -> u64 {
        debug_assert!(self.gen <= GEN_MASK && (FIELD_MIN..=FIELD_MAX).contains(&self.field));
        (u64::from(self.gen) << FIELD_BITS) | ((self.field + BIAS) as u64 & FIELD_MASK)
    }

    fn unpack(w: u64) -> Word {
        Word {
            gen: (w >> FIELD_BITS) as u32,
            field: (w & FIELD_MASK) as i64 - BIAS,
        }
    }
}

/// A value clamped into the field's range (NaN counts as "never").
pub(crate) fn clamp_field(x: f64) -> i64 {
    if x.is_nan() {
        FIELD_MAX
    } else {
        (x as i64).clamp(FIELD_MIN, FIELD_MAX)
    }
}

/// A limit and a burst: what one slot holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Config {
    /// Events per second; `f64::MAX` or more is infinite.
    pub(crate) limit: f64,
    pub(crate) burst: u64,
}

/// A [`Config`] with what every operation derives from it computed once
/// (at construction and in `set_config`), so the fast path does no
/// division and no float rounding for one token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Params {
    pub(crate) config: Config,
    kind: Kind,
    /// One token's refill time (ns, rounded): `allow`'s step.
    one: i64,
    /// The burst's refill time (ns, rounded): how far `tat` may run ahead
    /// of now before a caller has to wait.
    window: i64,
}

/// How a configuration counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// Every event is allowed; the word is unused.
    Inf,
    /// No refill: the field counts the tokens used (Go lowers its burst).
    Zero,
    /// GCRA with this many nanoseconds per token.
    Rate(f64),
}

impl Params {
    pub(crate) fn new(config: Config) -> Params {
        let kind = if config.limit >= f64::MAX {
            Kind::Inf
        } else if config.limit <= 0.0 {
            Kind::Zero
        } else {
            Kind::Rate(1e9 / config.limit)
        };
        let (one, window) = match kind {
            Kind::Rate(per) => (
                clamp_field(per.round()),
                clamp_field((config.burst as f64 * per).round()),
            ),
            Kind::Inf | Kind::Zero => (0, 0),
        };
        Params {
            config,
            kind,
            one,
            window,
        }
    }

    #[inline]
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// Takes `n` tokens at `t` from a bucket whose field is `field`, if
    /// the caller would wait no longer than `max_wait` ns: the new field and
    /// when the caller may act. `None`: refused (the field stays). Not for
    /// [`Kind::Inf`], which has no field (`Some((field, t))`).
    #[inline]
    pub(crate) fn take(&self, field: i64, t: i64, n: u64, max_wait: i64) -> Option<(i64, i64)> {
        match self.kind() {
            Kind::Inf => Some((field, t)),
            Kind::Zero => match field.checked_add(i64::try_from(n).ok()?) {
                Some(used) if used as u64 <= self.config.burst => Some((used, t)),
                _ => None,
            },
            Kind::Rate(per) => {
                if n > self.config.burst {
                    return None;
                }
                let step = if n == 1 {
                    self.one
                } else {
                    clamp_field((n as f64 * per).round())
                };
                let tat = field.max(t).saturating_add(step).min(FIELD_MAX);
                let delay = tat.saturating_sub(t).saturating_sub(self.window).max(0);
                (delay <= max_wait).then_some((tat, t.saturating_add(delay)))
            }
        }
    }

    /// Whether a bucket with this field is full at `t` (and so the same as
    /// a fresh one: a keyed limiter may forget it).
    pub(crate) fn is_full(&self, field: i64, t: i64) -> bool {
        match self.kind() {
            Kind::Inf => true,
            Kind::Zero => field == 0,
            Kind::Rate(_) => field <= t,
        }
    }

    /// The field of a full bucket.
    pub(crate) fn full(&self) -> i64 {
        match self.kind() {
            Kind::Zero => 0,
            Kind::Inf | Kind::Rate(_) => FIELD_MIN,
        }
    }

    /// The tokens at `t` of a bucket whose field is `field`.
    pub(crate) fn tokens_at(&self, field: i64, t: i64) -> f64 {
        let b = self.config.burst as f64;
        match self.kind() {
            Kind::Inf => b,
            Kind::Zero => b - field as f64,
            Kind::Rate(per) => b - (field.saturating_sub(t)).max(0) as f64 / per,
        }
    }

    /// The field of a bucket that holds `tokens` at `t` (tokens above the
    /// burst count as a full bucket).
    fn field_for(&self, tokens: f64, t: i64) -> i64 {
        let missing = self.config.burst as f64 - tokens;
        match self.kind() {
            Kind::Inf => FIELD_MIN,
            Kind::Zero => clamp_field(missing.round()).max(0),
            Kind::Rate(per) => t.saturating_add(clamp_field((missing * per).round())),
        }
        .clamp(FIELD_MIN, FIELD_MAX)
    }
}

/// The outcome of [`Bucket::reserve`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Reserved {
    pub(crate) ok: bool,
    /// When the caller may act (ns from the epoch); `t` unless delayed.
    pub(crate) act: i64,
    /// The configuration the reservation was made under.
    pub(crate) config: Params,
}

/// One configuration slot: a [`Params`] as atomics. Written only by a
/// setter holding `setter`.
struct Slot {
    limit: AtomicU64,
    burst: AtomicU64,
    per: AtomicU64,
    one: AtomicU64,
    window: AtomicU64,
}

impl Slot {
    fn new(p: Params) -> Slot {
        let s = Slot {
            limit: AtomicU64::new(0),
            burst: AtomicU64::new(0),
            per: AtomicU64::new(0),
            one: AtomicU64::new(0),
            window: AtomicU64::new(0),
        };
        s.write(p);
        s
    }

    /// Acquire: see the module docs.
    #[inline]
    fn read(&self) -> Params {
        let config = Config {
            limit: f64::from_bits(self.limit.load(Acquire)),
            burst: self.burst.load(Acquire),
        };
        let kind = if config.limit >= f64::MAX {
            Kind::Inf
        } else if config.limit <= 0.0 {
            Kind::Zero
        } else {
            Kind::Rate(f64::from_bits(self.per.load(Acquire)))
        };
        Params {
            config,
            kind,
            one: self.one.load(Acquire) as i64,
            window: self.window.load(Acquire) as i64,
        }
    }

    /// Release: see the module docs.
    fn write(&self, p: Params) {
        let per = match p.kind {
            Kind::Rate(per) => per,
            Kind::Inf | Kind::Zero => 0.0,
        };
        self.limit.store(p.config.limit.to_bits(), Release);
        self.burst.store(p.config.burst, Release);
        self.per.store(per.to_bits(), Release);
        self.one.store(p.one as u64, Release);
        self.window.store(p.window as u64, Release);
    }
}

/// The token bucket (see the module docs).
pub(crate) struct Bucket {
    /// The packed word: every operation's one RMW. On a cache line of its
    /// own, so that contention on it does not evict the slots, which every
    /// operation reads and only setters write.
    word: CachePadded<AtomicU64>,
    /// Configuration slots, indexed by `gen & 1`.
    slots: [Slot; 2],
    /// Held by `set_config` across its slot write and its CAS.
    setter: Mutex<()>,
}

impl Bucket {
    pub(crate) fn new(c: Config) -> Bucket {
        let p = Params::new(c);
        let full = Word {
            gen: 0,
            field: p.full(),
        };
        Bucket {
            word: CachePadded::new(AtomicU64::new(full.pack())),
            slots: [Slot::new(p), Slot::new(p)],
            setter: Mutex::new(()),
        }
    }

    fn slot(&self, gen: u32) -> &Slot {
        &self.slots[(gen & 1) as usize]
    }

    /// A consistent `(word, config)` pair (a seqlock read).
    fn snapshot(&self) -> (Word, Params) {
        let mut raw = self.word.load(Acquire);
        loop {
            let w = Word::unpack(raw);
            let c = self.slot(w.gen).read();
            // Acquire fence: the slot reads above are ordered before the
            // re-load, so an unchanged word means no setter overwrote them.
            fence(Acquire);
            let again = self.word.load(Relaxed);
            if again == raw {
                return (w, c);
            }
            raw = again;
        }
    }

    /// The current limit and burst.
    pub(crate) fn config(&self) -> Config {
        self.snapshot().1.config
    }

    /// The tokens at `t` (may be negative: reservations in the future).
    pub(crate) fn tokens(&self, t: i64) -> f64 {
        let (w, c) = self.snapshot();
        c.tokens_at(w.field, t)
    }

    /// Takes `n` tokens at `t` if the caller would have to wait no longer
    /// than `max_wait` ns for them (0: take them only if they are there).
    /// The fast path: one load, one CAS.
    #[inline]
    pub(crate) fn reserve(&self, t: i64, n: u64, max_wait: i64) -> Reserved {
        let mut raw = self.word.load(Acquire);
        loop {
            let w = Word::unpack(raw);
            let config = self.slot(w.gen).read();
            let refused = Reserved {
                ok: false,
                act: t,
                config,
            };
            if config.kind() == Kind::Inf {
                return Reserved {
                    ok: true,
                    act: t,
                    config,
                };
            }
            let Some((field, act)) = config.take(w.field, t, n, max_wait) else {
                return refused;
            };
            if field == w.field {
                return Reserved {
                    ok: true,
                    act,
                    config,
                };
            }
            let new = Word { gen: w.gen, field }.pack();
            // Relaxed on success: nothing is published (see the module
            // docs); Acquire on failure: the next round reads the slot of
            // the word it found.
            match self.word.compare_exchange_weak(raw, new, Relaxed, Acquire) {
                Ok(_) => {
                    return Reserved {
                        ok: true,
                        act,
                        config,
                    }
                }
                Err(now) => raw = now,
            }
        }
    }

    /// Gives back what a reservation of `n` tokens that acts at `act` took,
    /// less the tokens reserved after it, as of `t` (Go's `CancelAt`).
    pub(crate) fn cancel(&self, r: &Reserved, n: u64, t: i64) {
        if !r.ok || n == 0 || r.act < t {
            return;
        }
        let mut raw = self.word.load(Acquire);
        loop {
            let w = Word::unpack(raw);
            let c = self.slot(w.gen).read();
            let field = match (c.kind(), r.config.kind()) {
                (Kind::Inf, _) | (_, Kind::Inf) => return,
                (Kind::Zero, _) => w.field.saturating_sub(n as i64).max(0),
                (Kind::Rate(per), kind) => {
                    // Go's `lastEvent`: when the latest reservation acts.
                    let last_event = w.field.saturating_sub(c.window);
                    let later = match kind {
                        Kind::Rate(per_r) => last_event.saturating_sub(r.act).max(0) as f64 / per_r,
                        _ => 0.0,
                    };
                    let restore = n as f64 - later;
                    if restore <= 0.0 {
                        return;
                    }
                    w.field
                        .saturating_sub(clamp_field((restore * per).round()))
                        .max(t)
                }
            };
            if field == w.field {
                return;
            }
            let new = Word { gen: w.gen, field }.pack();
            // Orderings as in `reserve`.
            match self.word.compare_exchange_weak(raw, new, Relaxed, Acquire) {
                Ok(_) => return,
                Err(now) => raw = now,
            }
        }
    }

    /// Changes the limit and burst at `t`, keeping the tokens the bucket
    /// holds at `t` (capped at the old burst), as Go's `SetLimitAt`.
    pub(crate) fn set_config(&self, t: i64, change: impl FnOnce(Config) -> Config) {
        let _setter = lock(&self.setter);
        // Acquire: the slot below is the one the last setter published.
        let mut raw = self.word.load(Acquire);
        let gen = Word::unpack(raw).gen;
        // Only setters change `gen`, and we hold the mutex: this slot is
        // stable, and the next one is free to write (see the invariants).
        let old = self.slot(gen).read();
        let new = Params::new(change(old.config));
        let next = (gen + 1) & GEN_MASK;
        self.slot(next).write(new);
        loop {
            let w = Word::unpack(raw);
            debug_assert_eq!(
                w.gen, gen,
                "rate: a generation changed under the setter lock"
            );
            let field = new.field_for(old.tokens_at(w.field, t), t);
            let packed = Word { gen: next, field }.pack();
            // Release: publishes the slot written above.
            match self
                .word
                .compare_exchange_weak(raw, packed, Release, Acquire)
            {
                Ok(_) => return,
                Err(now) => raw = now,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_round_trips_at_the_edges() {
        for gen in [0, 1, GEN_MASK] {
            for field in [FIELD_MIN, -1, 0, 1, FIELD_MAX] {
                let w = Word { gen, field };
                assert_eq!(Word::unpack(w.pack()), w);
            }
        }
    }

    #[test]
    fn fresh_bucket_is_full_and_refills() {
        let b = Bucket::new(Config {
            limit: 10.0,
            burst: 3,
        });
        assert_eq!(b.tokens(0), 3.0);
        assert!(b.reserve(0, 3, 0).ok);
        assert!(!b.reserve(0, 1, 0).ok);
        assert_eq!(b.tokens(0), 0.0);
        assert_eq!(b.tokens(100_000_000), 1.0);
        let r = b.reserve(0, 2, i64::MAX);
        assert!(r.ok);
        assert_eq!(r.act, 200_000_000);
        assert_eq!(b.tokens(0), -2.0);
    }

    #[test]
    fn set_config_keeps_tokens_and_wraps_generations() {
        let b = Bucket::new(Config {
            limit: 10.0,
            burst: 4,
        });
        assert!(b.reserve(0, 2, 0).ok);
        for i in 0..40 {
            let limit = if i % 2 == 0 { 5.0 } else { 10.0 };
            b.set_config(0, |c| Config { limit, ..c });
            assert_eq!(b.tokens(0), 2.0, "round {i}");
        }
        b.set_config(0, |c| Config { burst: 1, ..c });
        assert_eq!(b.tokens(0), 1.0);
        assert_eq!(b.config().burst, 1);
    }

    #[test]
    fn zero_limit_counts_down_the_burst() {
        let b = Bucket::new(Config {
            limit: 0.0,
            burst: 2,
        });
        assert!(b.reserve(5, 1, 0).ok);
        assert!(b.reserve(5, 1, 0).ok);
        assert!(!b.reserve(i64::MAX / 4, 1, 0).ok);
        assert_eq!(b.tokens(0), 0.0);
    }
}
