//! Loom models of the bucket: concurrent reservations never hand out a
//! token twice, and a setter's generation change never lets a reservation
//! act on a configuration it did not read consistently.

use super::bucket::{Bucket, Config};
use loom::sync::Arc;
use loom::thread;

fn bucket(limit: f64, burst: u64) -> Arc<Bucket> {
    Arc::new(Bucket::new(Config { limit, burst }))
}

/// Two threads race for the one token of a burst-1 bucket: exactly one
/// wins, and the bucket is empty afterwards.
#[test]
fn loom_rate_one_token_one_winner() {
    loom::model(|| {
        let b = bucket(10.0, 1);
        let b2 = b.clone();
        let t = thread::spawn(move || b2.reserve(0, 1, 0).ok);
        let mine = b.reserve(0, 1, 0).ok;
        let theirs = t.join().unwrap();
        assert!(
            mine ^ theirs,
            "one token, two winners or none: {mine} {theirs}"
        );
        assert_eq!(b.tokens(0), 0.0);
    });
}

/// A reservation races with a limit change (two setters, so the slot the
/// reserver may have read gets rewritten): the tokens afterwards are
/// those of exactly one reservation under whichever limit it read, and a
/// 2-token burst never hands out more than 2 tokens at time 0.
#[test]
fn loom_rate_reserve_races_set_limit() {
    loom::model(|| {
        let b = bucket(10.0, 2);
        let b2 = b.clone();
        let setter = thread::spawn(move || {
            b2.set_config(0, |c| Config { limit: 5.0, ..c });
            b2.set_config(0, |c| Config { limit: 20.0, ..c });
        });
        let first = b.reserve(0, 2, 0).ok;
        setter.join().unwrap();
        assert!(first, "a full bucket refused its burst");
        assert_eq!(b.config().limit, 20.0);
        // Tokens are kept across limit changes: the bucket is empty.
        assert_eq!(b.tokens(0), 0.0);
        assert!(!b.reserve(0, 1, 0).ok);
    });
}

/// A cancel races with a reservation: the cancelled tokens come back
/// exactly once.
#[test]
fn loom_rate_cancel_races_reserve() {
    loom::model(|| {
        let b = bucket(10.0, 2);
        let r = b.reserve(0, 2, 0);
        assert!(r.ok);
        let b2 = b.clone();
        let t = thread::spawn(move || b2.reserve(0, 1, 0).ok);
        b.cancel(&r, 2, 0);
        let got = t.join().unwrap();
        let left = b.tokens(0);
        if got {
            assert_eq!(left, 1.0);
        } else {
            assert_eq!(left, 2.0);
        }
    });
}
