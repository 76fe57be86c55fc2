//! Per-goroutine stack sizes (`go_with`, `Options::stack_size`) and stack
//! usage (`stack_usage`), through the public API.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use baton::runtime::{
    go_with, stack_usage, try_go_with, Builder, Options, DEFAULT_STACK_SIZE, STACK_KEEP,
};

/// Recursion with 1 KiB frames: about 1 MiB at depth 1000, far past the
/// 64 KiB default (the overflow itself is tested in `runtime_overflow.rs`).
fn deep(n: u32) -> u32 {
    let pad = std::hint::black_box([n as u8; 1024]);
    if n == 0 {
        return u32::from(pad[0]);
    }
    let r = deep(n - 1) + 1;
    // `pad` is used after the call, so every frame keeps its own.
    std::hint::black_box(&pad);
    r
}

#[test]
fn deep_recursion_runs_on_a_big_stack() {
    common::within("deep recursion", 60, || {
        let rt = Builder::new().workers(2).build();
        let out = rt.run(|| {
            let hs: Vec<_> = (0..8)
                .map(|_| go_with(Options::new().stack_size(8 << 20), || deep(1000)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        });
        assert_eq!(out, vec![1000; 8]);
    });
}

#[test]
fn sizes_mix_on_one_worker() {
    common::within("mixed sizes", 60, || {
        let rt = Builder::new().workers(1).build();
        let sizes = rt.run(|| {
            let mut sizes = Vec::new();
            for round in 0..3 {
                for kib in [16usize, 64, 256, 1024, 4096] {
                    let h = go_with(Options::new().stack_size(kib * 1024), move || {
                        stack_usage().unwrap().size()
                    });
                    sizes.push((round, kib, h.join().unwrap()));
                }
                sizes.push((
                    round,
                    0,
                    baton::go(|| stack_usage().unwrap().size()).join().unwrap(),
                ));
            }
            sizes
        });
        for (_, kib, got) in sizes {
            let want = if kib == 0 {
                DEFAULT_STACK_SIZE
            } else {
                kib * 1024
            };
            assert_eq!(got, want);
        }
    });
}

#[test]
fn a_size_rounds_up_to_whole_pages() {
    let got = go_with(Options::new().stack_size(10_000), || {
        stack_usage().unwrap().size()
    })
    .join()
    .unwrap();
    assert!(got >= 10_000 && got % 4096 == 0, "{got}");
}

#[test]
fn scoped_and_try_forms() {
    let data = vec![1u64; 100];
    let total = baton::scope(|s| {
        let h = s.go_with(Options::new().stack_size(2 << 20), || {
            u64::from(deep(500)) + data.iter().sum::<u64>()
        });
        h.join().unwrap()
    });
    assert_eq!(total, 600);
    let h = try_go_with(Options::new().stack_size(2 << 20), || deep(500)).unwrap();
    assert_eq!(h.join().unwrap(), 500);
}

#[test]
fn an_unmappable_size_fails_the_goroutine_not_the_process() {
    let h = go_with(Options::new().stack_size(usize::MAX / 2), || 1);
    let err = h.join().unwrap_err();
    let msg = format!("{err:?}");
    assert!(msg.contains("could not map"), "{msg}");
    // The runtime goes on.
    assert_eq!(go_with(Options::new(), || 2).join().unwrap(), 2);
}

#[test]
fn usage_is_none_outside_and_grows_inside() {
    assert!(stack_usage().is_none());
    fn at_depth(n: u32) -> usize {
        let pad = std::hint::black_box([0u8; 1024]);
        if n == 0 {
            return stack_usage().unwrap().in_use() + usize::from(pad[0]);
        }
        at_depth(n - 1)
    }
    let (base, d100, d400, after) = go_with(Options::new().stack_size(4 << 20), || {
        let base = stack_usage().unwrap();
        let d100 = at_depth(100);
        let d400 = at_depth(400);
        (base, d100, d400, stack_usage().unwrap())
    })
    .join()
    .unwrap();
    assert!(d100 >= base.in_use() + 100 * 1024, "{base:?} {d100}");
    assert!(d400 >= d100 + 300 * 1024, "{d100} {d400}");
    assert!(after.high_water() >= d400);
    assert!(after.in_use() < d100);
    assert_eq!(after.remaining() + after.in_use(), after.size());
}

#[test]
fn a_reused_deep_stack_holds_only_its_top() {
    common::within("trim", 60, || {
        let rt = Builder::new().workers(1).build();
        let opts = Options::new().stack_size(4 << 20);
        let (first, second) = rt.run(move || {
            let o = opts.clone();
            let first = go_with(o, || {
                deep(1100);
                stack_usage().unwrap().high_water()
            })
            .join()
            .unwrap();
            let second = go_with(opts, || stack_usage().unwrap().high_water())
                .join()
                .unwrap();
            (first, second)
        });
        assert!(first >= 1 << 20, "{first}");
        assert!(second <= STACK_KEEP, "{second}");
    });
}
