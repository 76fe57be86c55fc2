//! An idle runtime uses (about) no CPU: its workers sleep, including one
//! whose goroutine sleeps on a long timer. A behaviour check, not a speed
//! claim; alone in its own test binary so no other test's CPU is counted.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::time::Duration;

use baton::runtime::Builder;

fn cpu_time() -> Duration {
    // SAFETY: `getrusage` writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[test]
fn idle_runtime_uses_no_cpu() {
    common::within("idle runtime", 30, || {
        let rt = Builder::new().workers(4).build();
        // Wake every worker once, leave one goroutine asleep on a timer.
        rt.run(|| {
            let hs: Vec<_> = (0..64).map(|i| baton::go(move || i)).collect();
            hs.into_iter().for_each(|h| {
                h.join().unwrap();
            });
        });
        let _sleeper = rt.go(|| baton::time::sleep(Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(100)); // let them settle
        let before = cpu_time();
        std::thread::sleep(Duration::from_secs(1));
        let used = cpu_time() - before;
        eprintln!("an idle runtime of 4 workers used {used:?} of CPU in 1 s");
        assert!(
            used < Duration::from_millis(100),
            "an idle runtime of 4 workers used {used:?} of CPU in 1 s"
        );
        // Still wakes promptly afterwards.
        assert_eq!(rt.run(|| 5), 5);
    });
}
