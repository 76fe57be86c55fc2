//! Stress tests for `baton::atomic::SeqLock`: 8 readers and a writer (more
//! threads than the 2-core CI machine has cores), readers checking that no
//! snapshot is torn.

use std::thread;

use baton::atomic::SeqLock;

/// Writes (and reads per reader); small under Miri.
const ITERS: u64 = if cfg!(miri) { 50 } else { 50_000 };

/// A 64-byte record whose words must all be equal.
#[test]
fn eight_readers_one_writer_64_byte_record() {
    let lock = SeqLock::new([0u64; 8]);
    thread::scope(|s| {
        s.spawn(|| {
            for i in 1..=ITERS {
                lock.write([i; 8]);
            }
        });
        for r in 0..8 {
            let lock = &lock;
            s.spawn(move || {
                let mut last = 0;
                for i in 0..ITERS {
                    let v = if (i + r) % 4 == 0 {
                        match lock.try_read() {
                            Some(v) => v,
                            None => continue,
                        }
                    } else {
                        lock.read()
                    };
                    assert!(v.iter().all(|&x| x == v[0]), "torn: {v:?}");
                    assert!(v[0] >= last, "went back from {last} to {}", v[0]);
                    last = v[0];
                }
            });
        }
    });
    assert_eq!(lock.read(), [ITERS; 8]);
}

/// A type with padding and an over-aligned field, updated by 4 threads and
/// read by 4: every snapshot is whole and no update is lost.
#[test]
fn padded_over_aligned_type_with_racing_updaters() {
    #[derive(Clone, Copy, Debug)]
    #[repr(align(32))]
    struct Rec {
        tag: u8,
        a: u64,
        b: u16,
        c: u128,
    }
    impl Rec {
        fn whole(&self) -> bool {
            self.tag == (self.a % 251) as u8
                && self.b == (self.a % 65_521) as u16
                && self.c == u128::from(self.a) << 64
        }
    }
    let lock = SeqLock::new(Rec {
        tag: 0,
        a: 0,
        b: 0,
        c: 0,
    });
    let per = ITERS / 10;
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per {
                    lock.update(|r| {
                        let a = r.a + 1;
                        *r = Rec {
                            tag: (a % 251) as u8,
                            a,
                            b: (a % 65_521) as u16,
                            c: u128::from(a) << 64,
                        };
                    });
                }
            });
        }
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..per {
                    let r = lock.read();
                    assert!(r.whole(), "torn: {r:?}");
                }
            });
        }
    });
    assert_eq!(lock.read().a, 4 * per);
}
