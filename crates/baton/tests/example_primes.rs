//! The `primes` example (`examples/primes.rs`): both versions find primes,
//! and the baton version leaves no goroutine behind once it has its answer
//! (its cancel stops the generator and every finder).

#![cfg(not(loom))]

mod common;

#[allow(dead_code, unreachable_pub)] // its `main` is the example's, unused here
#[path = "../examples/primes.rs"]
mod primes;

use baton::runtime::LeakCheck;
use common::within;

#[test]
fn baton_version_finds_primes_and_leaks_nothing() {
    within("primes (baton)", 120, || {
        let found = LeakCheck::new().run(|| primes::with_baton(4, 7));
        assert_eq!(found.len(), primes::WANT);
        assert!(found.iter().all(|&p| primes::is_prime(p)), "{found:?}");
    });
}

#[test]
fn threads_version_finds_primes_and_stops() {
    within("primes (threads)", 120, || {
        let found = primes::with_threads(4, 7);
        assert_eq!(found.len(), primes::WANT);
        assert!(found.iter().all(|&p| primes::is_prime(p)), "{found:?}");
    });
}
