//! Regression (issue 10, item 5): `go` inside a `blocking` closure spawned
//! on the global runtime instead of the runtime whose goroutine called
//! `blocking` (a pool thread is no worker, so `go` fell back to the global
//! runtime). It must spawn on the caller's runtime.

#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use baton::runtime::{blocking, Builder};

#[test]
fn go_inside_blocking_runs_on_the_callers_runtime() {
    common::within("go_inside_blocking_runs_on_the_callers_runtime", 60, || {
        let rt = Builder::new().workers(1).name("owner").build();
        let (pool_thread, spawned_on) = rt.run(|| {
            blocking(|| {
                let pool_thread = std::thread::current().name().map(String::from);
                let h = baton::go(|| std::thread::current().name().map(String::from));
                (pool_thread, h.join().unwrap())
            })
        });
        assert_eq!(pool_thread.as_deref(), Some("baton-blocking"));
        assert_eq!(
            spawned_on.as_deref(),
            Some("owner-0"),
            "the goroutine ran on the one worker of the caller's runtime"
        );
        // The main goroutine and the one spawned from the job.
        assert_eq!(rt.stats().total_goroutines, 2);
    });
}

#[test]
fn go_inside_blocking_from_two_runtimes() {
    common::within("go_inside_blocking_from_two_runtimes", 60, || {
        let a = Builder::new().workers(1).name("rt-a").build();
        let b = Builder::new().workers(1).name("rt-b").build();
        std::thread::scope(|s| {
            for (rt, want) in [(&a, "rt-a-0"), (&b, "rt-b-0")] {
                s.spawn(move || {
                    for _ in 0..20 {
                        let on = rt.run(|| {
                            blocking(|| {
                                baton::go(|| std::thread::current().name().map(String::from))
                                    .join()
                                    .unwrap()
                            })
                        });
                        assert_eq!(on.as_deref(), Some(want));
                    }
                });
            }
        });
    });
}
