//! Pinning workers to CPUs ([`Builder::pin_workers`](super::Builder::pin_workers)).
//!
//! Worker `i` is bound to the `i`-th CPU the process may run on (wrapping
//! around when there are more workers than CPUs), with
//! `sched_setaffinity` on its own thread when it starts.
//!
//! ## Why it is offered
//!
//! A started goroutine never leaves its worker, so two goroutines that wake
//! each other from different workers hand work across threads on every
//! wake. That is fast while both workers run on different CPUs (a worker
//! spins briefly for its inbox before sleeping, see `worker`). But Linux
//! tends to put a thread woken through a futex on its waker's CPU, and then
//! keeps two threads that run in short bursts on one CPU (they look
//! cache-hot to the load balancer), so the pair takes turns on one CPU
//! while another idles — measured here: 16 us per round trip instead of
//! about 1 us. Pinning rules that out. It is off by default: on a machine
//! shared with other programs, a pinned worker cannot move away from a busy
//! CPU (Go does not pin either; `may` pins by default).

/// The CPUs this process may run on, in order (empty if unknown).
pub(crate) fn allowed_cpus() -> Vec<usize> {
    // SAFETY: a zeroed `cpu_set_t` is a valid empty set, and
    // `sched_getaffinity` writes at most `size_of::<cpu_set_t>()` bytes
    // into it.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        if libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Binds the calling thread to `cpu`; `false` if the OS refused.
pub(crate) fn pin_current_thread(cpu: usize) -> bool {
    // SAFETY: as above; the set holds one CPU below `CPU_SETSIZE` (callers
    // pass CPUs from `allowed_cpus`), and 0 means the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::tests::within;
    use crate::runtime::Builder;

    #[test]
    fn each_worker_runs_on_its_own_cpu() {
        within(60, "pinned workers", || {
            let cpus = allowed_cpus();
            assert!(!cpus.is_empty());
            let workers = cpus.len().min(4) + 1; // one more than CPUs wraps around
            let rt = Builder::new().workers(workers).pin_workers(true).build();
            // Each worker's own affinity, asked from goroutines that then
            // hold their worker for a moment (on purpose), so that the
            // others are taken by the other workers; until all answered.
            let mut seen = std::collections::BTreeMap::new();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while seen.len() < workers {
                assert!(std::time::Instant::now() < deadline, "saw only {seen:?}");
                let hs: Vec<_> = (0..2 * workers)
                    .map(|_| {
                        rt.go(|| {
                            let name = std::thread::current().name().unwrap().to_owned();
                            let mine = allowed_cpus();
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            (name, mine)
                        })
                    })
                    .collect();
                for h in hs {
                    let (name, mine) = h.join().unwrap();
                    seen.insert(name, mine);
                }
            }
            for (i, (name, mine)) in seen.iter().enumerate() {
                assert_eq!(name, &format!("baton-{i}"));
                assert_eq!(mine, &vec![cpus[i % cpus.len()]], "{name}");
            }
        });
    }
}
