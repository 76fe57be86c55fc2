//! `seqlock`: snapshots of a small record that one thread keeps updating
//! (a price quote, a position, a stats block).
//!
//! A lock makes every reader write the lock word, and a reader-writer lock
//! makes readers wait behind the writer. A seqlock's readers write nothing
//! shared: they copy the record and retry if a write overlapped the copy.
//!
//! The retry is the textbook seqlock's weakness: a writer that writes back
//! to back leaves readers almost no window (baton's first, one-copy version
//! ran at 0.2-0.5x `RwLock` here). baton's keeps two copies (a seqcount
//! latch) so readers never wait for a writer. `read` has the writer replace
//! the record once every microsecond (a million updates a second, a hot
//! feed); `read-busy-writer` has it write nonstop, the worst case.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use baton::atomic::SeqLock;

use super::{Case, Experiment, Impl};
use crate::runner::{measure_with_background, Sample, Spec};

/// The steady writer's gap between writes in the `read` case.
const WRITE_EVERY: Duration = Duration::from_micros(1);

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "seqlock",
        claim: "seqlock readers, who take no lock and never wait for the writer, outrun \
                lock-based readers while a writer keeps updating",
        cases: vec![
            Case {
                name: "read",
                about: "one op = copy out a consistent 64-byte record (every field checked for \
                        tearing) while one untimed writer thread replaces it every microsecond",
                threads: &[2, 8],
                latency: false,
                big: None,
                impls: impls::<false>(),
            },
            Case {
                name: "read-busy-writer",
                about: "as `read`, but the writer replaces the record back to back, nonstop: \
                        the worst case for a seqlock (readers retry when a write overlaps)",
                threads: &[2, 8],
                latency: false,
                big: None,
                impls: impls::<true>(),
            },
        ],
    }
}

/// The implementations, with the writer nonstop when `BUSY`.
fn impls<const BUSY: bool>() -> Vec<Impl> {
    vec![
        Impl::native(
            "baton",
            "baton::atomic::SeqLock: read() / write(v)",
            baton::<BUSY>,
        ),
        Impl::native(
            "std-rwlock",
            "std RwLock<Record>: read lock, copy",
            std_rwlock::<BUSY>,
        ),
        Impl::native(
            "std-mutex",
            "std Mutex<Record>: lock, copy",
            std_mutex::<BUSY>,
        ),
    ]
}

/// 64 bytes whose fields all hold the same number, so a torn copy shows.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Record {
    seq: u64,
    fields: [u64; 7],
}

const _: () = assert!(std::mem::size_of::<Record>() == 64);

impl Record {
    fn new(n: u64) -> Self {
        Self {
            seq: n,
            fields: [n; 7],
        }
    }

    /// Checks the copy is whole; a torn read is a bug, never a figure.
    #[inline]
    fn check(self) -> Self {
        assert!(
            self.fields.iter().all(|&f| f == self.seq),
            "torn read: {self:?}"
        );
        self
    }
}

/// Runs `read` on the workers while one background thread calls `write`
/// with ever newer records, nonstop when `BUSY`, else every [`WRITE_EVERY`].
fn read_while_writing<const BUSY: bool, S: Sync>(
    spec: &Spec,
    state: &S,
    write: impl Fn(&S, Record) + Sync,
    read: impl Fn(&S) -> Record + Sync,
) -> Sample {
    measure_with_background(
        spec,
        state,
        1,
        |s, stop: &AtomicBool| {
            let mut n = 0;
            while !stop.load(Relaxed) {
                n += 1;
                write(s, Record::new(n));
                if !BUSY {
                    // Spin, not sleep: a sleep's wake-up takes far longer
                    // than a microsecond and would make the pace uneven.
                    let since = Instant::now();
                    while since.elapsed() < WRITE_EVERY {
                        std::hint::spin_loop();
                    }
                }
            }
        },
        |s, _| {
            let read = &read;
            move || {
                // Check every field (in registers) and hand on one, so no
                // implementation is made to spill and reload the record.
                black_box(read(s).check().seq);
            }
        },
    )
}

fn baton<const BUSY: bool>(spec: &Spec) -> Sample {
    read_while_writing::<BUSY, _>(
        spec,
        &SeqLock::new(Record::new(0)),
        SeqLock::write,
        SeqLock::read,
    )
}

fn std_rwlock<const BUSY: bool>(spec: &Spec) -> Sample {
    read_while_writing::<BUSY, _>(
        spec,
        &RwLock::new(Record::new(0)),
        |l, r| *l.write().unwrap() = r,
        |l| *l.read().unwrap(),
    )
}

fn std_mutex<const BUSY: bool>(spec: &Spec) -> Sample {
    read_while_writing::<BUSY, _>(
        spec,
        &Mutex::new(Record::new(0)),
        |l, r| *l.lock().unwrap() = r,
        |l| *l.lock().unwrap(),
    )
}
