//! The prime finder of "Concurrency in Go" (chapter 4, "Fan-Out, Fan-In"):
//! a stream of random numbers, a deliberately slow primality test fanned
//! out over every core, fanned back in, and the first `WANT` primes taken;
//! then the same program with plain threads and std channels.
//!
//! ```text
//! cargo run --release -p baton --example primes
//! ```
//!
//! Both versions find the same number of primes; the printed times show
//! what each costs on this machine (no claim is made here: the lab's
//! `pipeline` experiment measures).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Instant;

use baton::{context, pattern};

/// How many primes to find.
pub const WANT: usize = 20;
/// The random numbers are below this.
const RANGE: u64 = 5_000_000;

/// The book's slow primality test: trial division by every smaller number.
pub fn is_prime(n: u64) -> bool {
    n >= 2 && (2..n).all(|d| n % d != 0)
}

/// A xorshift generator: cheap, deterministic per seed.
fn random(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % RANGE
    }
}

/// With baton's patterns: repeat_fn → fan_out(is_prime) → take.
pub fn with_baton(workers: usize, seed: u64) -> Vec<u64> {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let numbers = pattern::repeat_fn(&ctx, random(seed));
    let found = pattern::fan_out(&ctx, numbers, workers, |n| is_prime(n).then_some(n));
    let primes = pattern::filter(&ctx, found, Option::is_some);
    let first: Vec<u64> = pattern::take(&ctx, primes, WANT).iter().flatten().collect();
    cancel.cancel(); // stops the generator and the finders
    first
}

/// With plain threads: a generator thread, `workers` finder threads on a
/// shared receiver (std's receiver is single-consumer: behind a mutex), a
/// stop flag.
pub fn with_threads(workers: usize, seed: u64) -> Vec<u64> {
    let stop = Arc::new(AtomicBool::new(false));
    let (num_tx, num_rx) = mpsc::sync_channel::<u64>(0);
    let num_rx = Arc::new(std::sync::Mutex::new(num_rx));
    let (prime_tx, prime_rx) = mpsc::sync_channel::<u64>(0);
    let mut handles = vec![];
    {
        let stop = stop.clone();
        let mut next = random(seed);
        handles.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if num_tx.send(next()).is_err() {
                    return;
                }
            }
        }));
    }
    for _ in 0..workers {
        let (num_rx, prime_tx) = (num_rx.clone(), prime_tx.clone());
        handles.push(thread::spawn(move || loop {
            let n = match num_rx.lock().unwrap().recv() {
                Ok(n) => n,
                Err(_) => return,
            };
            if is_prime(n) && prime_tx.send(n).is_err() {
                return;
            }
        }));
    }
    drop(prime_tx);
    let first: Vec<u64> = prime_rx.iter().take(WANT).collect();
    stop.store(true, Ordering::Relaxed);
    drop(prime_rx); // finders blocked on a send see it fail
    drop(num_rx);
    for h in handles {
        h.join().unwrap();
    }
    first
}

fn main() {
    let workers = thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    let a = with_baton(workers, 42);
    let baton_time = start.elapsed();
    let start = Instant::now();
    let b = with_threads(workers, 42);
    let threads_time = start.elapsed();
    println!("{workers} workers, first {WANT} primes below {RANGE}");
    println!("baton patterns: {baton_time:?} {a:?}");
    println!("plain threads:  {threads_time:?} {b:?}");
    assert_eq!(a.len(), WANT);
    assert_eq!(b.len(), WANT);
    assert!(a.iter().chain(&b).all(|&p| is_prime(p)));
}
