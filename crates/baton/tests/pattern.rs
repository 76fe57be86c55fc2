//! `baton::pattern`: every stage's values, its end when the input ends, its
//! end when the context is cancelled mid-stream, and its end when the
//! consumer drops its receiver; each body runs under the leak check, on one
//! worker and on two, so a stage that leaves a goroutine behind fails.

#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::chan::{self, RecvError};
use baton::context::{self, Context};
use baton::pattern::{self, Beat, HedgeError};
use baton::runtime::LeakCheck;
use common::within;

/// Runs `body` under the leak check on one worker and on two, with a hang
/// guard.
fn leak_free(what: &'static str, body: fn()) {
    for workers in [1, 2] {
        within(&format!("{what} ({workers} worker(s))"), 60, move || {
            LeakCheck::new().workers(workers).run(body)
        });
    }
}

fn cancelled_after<T: Send + 'static>(
    rx: chan::Receiver<T>,
    n: usize,
    cancel: context::CancelFunc,
) -> Vec<T> {
    let got: Vec<T> = rx.iter().take(n).collect();
    cancel.cancel();
    // The stage closes its output: the receiver ends (values already in
    // flight may still come, never more than a handful).
    let rest = rx.iter().count();
    assert!(rest <= 8, "{rest} values after the cancel");
    got
}

fn bg() -> Context {
    context::background()
}

#[test]
fn generate_all_then_close() {
    leak_free("generate", || {
        let rx = pattern::generate(&bg(), vec![String::from("a"), String::from("b")]);
        assert_eq!(rx.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(rx.recv(), Err(RecvError::Closed));
    });
}

#[test]
fn sources_stop_on_cancel() {
    leak_free("sources cancel", || {
        let (ctx, cancel) = context::with_cancel(&bg());
        let got = cancelled_after(pattern::generate(&ctx, 0..), 10, cancel);
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        let (ctx, cancel) = context::with_cancel(&bg());
        let got = cancelled_after(pattern::repeat(&ctx, vec![1, 2, 3]), 7, cancel);
        assert_eq!(got, [1, 2, 3, 1, 2, 3, 1]);
        let (ctx, cancel) = context::with_cancel(&bg());
        let mut i = 0;
        let got = cancelled_after(
            pattern::repeat_fn(&ctx, move || {
                i += 1;
                i
            }),
            3,
            cancel,
        );
        assert_eq!(got, [1, 2, 3]);
    });
}

#[test]
fn sources_stop_when_the_receiver_is_dropped() {
    leak_free("sources drop", || {
        let ctx = bg();
        let rx = pattern::generate(&ctx, 0..);
        assert_eq!(rx.recv(), Ok(0));
        drop(rx);
        drop(pattern::repeat(&ctx, vec![1]));
        drop(pattern::repeat_fn(&ctx, || 1));
        // The leak check waits for the three goroutines to see it.
    });
}

#[test]
fn repeat_of_nothing_closes() {
    leak_free("repeat empty", || {
        assert_eq!(
            pattern::repeat::<u8>(&bg(), vec![]).recv(),
            Err(RecvError::Closed)
        );
    });
}

#[test]
fn take_stops_and_releases_its_input() {
    leak_free("take", || {
        let ctx = bg();
        let rx = pattern::take(&ctx, pattern::generate(&ctx, 0..), 5);
        assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        // Fewer than n: ends with the input.
        let rx = pattern::take(&ctx, pattern::generate(&ctx, 0..2), 5);
        assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1]);
        let (cctx, cancel) = context::with_cancel(&ctx);
        let rx = pattern::take(&cctx, pattern::repeat(&ctx, vec![9]), 1_000_000);
        assert_eq!(cancelled_after(rx, 2, cancel), [9, 9]);
    });
}

#[test]
fn or_done_ends_on_close_and_on_cancel() {
    leak_free("or_done", || {
        let ctx = bg();
        let all: Vec<_> = pattern::or_done(&ctx, pattern::generate(&ctx, 0..3)).collect();
        assert_eq!(all, [0, 1, 2]);
        let (cctx, cancel) = context::with_cancel(&ctx);
        let (tx, rx) = chan::unbounded::<i32>();
        let waiter = baton::go(move || pattern::or_done(&cctx, rx).count());
        baton::time::sleep(Duration::from_millis(5)); // let it block
        cancel.cancel();
        assert_eq!(waiter.join().unwrap(), 0);
        drop(tx);
    });
}

#[test]
fn tee_delivers_every_value_to_both() {
    leak_free("tee", || {
        let ctx = bg();
        let (a, b) = pattern::tee(&ctx, pattern::generate(&ctx, 0..100));
        // Read b first in the same goroutine for one value: tee must not
        // insist on a's turn first.
        assert_eq!(b.recv(), Ok(0));
        assert_eq!(a.recv(), Ok(0));
        let other = baton::go(move || b.iter().collect::<Vec<_>>());
        assert_eq!(a.iter().collect::<Vec<_>>(), (1..100).collect::<Vec<_>>());
        assert_eq!(other.join().unwrap(), (1..100).collect::<Vec<_>>());
    });
}

#[test]
fn tee_goes_on_for_one_reader_and_stops_on_cancel() {
    leak_free("tee one reader", || {
        let ctx = bg();
        let (a, b) = pattern::tee(&ctx, pattern::generate(&ctx, 0..10));
        drop(b);
        assert_eq!(a.iter().count(), 10);
        let (cctx, cancel) = context::with_cancel(&ctx);
        let (a, _b) = pattern::tee(&cctx, pattern::generate(&ctx, 0..));
        // Nobody reads `_b`: tee waits on it, and the cancel gets it out.
        let first = baton::go(move || a.recv());
        baton::time::sleep(Duration::from_millis(5));
        cancel.cancel();
        let _ = first.join().unwrap();
    });
}

#[test]
fn bridge_flattens_in_order_and_stops_on_cancel() {
    leak_free("bridge", || {
        let ctx = bg();
        let streams = pattern::generate(
            &ctx,
            (0..4)
                .map(|i| pattern::generate(&bg(), i * 10..i * 10 + 3))
                .collect::<Vec<_>>(),
        );
        let all: Vec<_> = pattern::bridge(&ctx, streams).iter().collect();
        assert_eq!(all, [0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32]);
        let (cctx, cancel) = context::with_cancel(&ctx);
        let endless = pattern::repeat_fn(&cctx, {
            let ctx = cctx.clone();
            move || pattern::generate(&ctx, 0..)
        });
        let got = cancelled_after(pattern::bridge(&cctx, endless), 5, cancel);
        assert_eq!(got, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn fan_in_merges_everything_and_stops_on_cancel() {
    leak_free("fan_in", || {
        let ctx = bg();
        let ins = (0..8)
            .map(|i| pattern::generate(&ctx, i * 100..i * 100 + 50))
            .collect();
        let mut all: Vec<_> = pattern::fan_in(&ctx, ins).iter().collect();
        all.sort_unstable();
        let want: Vec<_> = (0..8).flat_map(|i| i * 100..i * 100 + 50).collect();
        assert_eq!(all, want);
        assert_eq!(
            pattern::fan_in::<u8>(&ctx, vec![]).recv(),
            Err(RecvError::Closed)
        );
        let (cctx, cancel) = context::with_cancel(&ctx);
        let ins = (0..4).map(|_| pattern::repeat(&cctx, vec![1])).collect();
        let got = cancelled_after(pattern::fan_in(&cctx, ins), 20, cancel);
        assert_eq!(got.len(), 20);
    });
}

#[test]
fn fan_out_runs_on_n_goroutines() {
    leak_free("fan_out", || {
        let ctx = bg();
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (running.clone(), most.clone());
        let out = pattern::fan_out(&ctx, pattern::generate(&ctx, 0..200u64), 4, move |v| {
            let now = r.fetch_add(1, Relaxed) + 1;
            m.fetch_max(now, Relaxed);
            baton::yield_now();
            r.fetch_sub(1, Relaxed);
            v * 2
        });
        let mut got: Vec<_> = out.iter().collect();
        got.sort_unstable();
        assert_eq!(got, (0..200).map(|v| v * 2).collect::<Vec<_>>());
        assert!(most.load(Relaxed) <= 4, "more than n at once");
        let (cctx, cancel) = context::with_cancel(&ctx);
        let out = pattern::fan_out(&cctx, pattern::generate(&cctx, 0..), 3, |v: u64| v);
        assert_eq!(cancelled_after(out, 10, cancel).len(), 10);
    });
}

#[test]
fn fan_out_ordered_keeps_the_input_order() {
    leak_free("fan_out_ordered", || {
        let ctx = bg();
        let out = pattern::fan_out_ordered(&ctx, pattern::generate(&ctx, 0..500u64), 4, |v| {
            if v % 13 == 0 {
                baton::time::sleep(Duration::from_micros(200));
            }
            v + 1
        });
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            (1..=500).collect::<Vec<_>>()
        );
        let (cctx, cancel) = context::with_cancel(&ctx);
        let out = pattern::fan_out_ordered(&cctx, pattern::generate(&cctx, 0..), 2, |v: u64| v);
        assert_eq!(
            cancelled_after(out, 10, cancel),
            (0..10).collect::<Vec<_>>()
        );
        // The consumer walks away: everything behind it stops.
        let out = pattern::fan_out_ordered(&ctx, pattern::generate(&ctx, 0..), 3, |v: u64| v);
        assert_eq!(out.recv(), Ok(0));
        drop(out);
    });
}

#[test]
fn fan_out_ordered_bounds_what_is_in_flight() {
    leak_free("fan_out_ordered window", || {
        let ctx = bg();
        let pulled = Arc::new(AtomicUsize::new(0));
        let p = pulled.clone();
        let src = pattern::generate(
            &ctx,
            (0..10_000u64).inspect(move |_| {
                p.fetch_add(1, Relaxed);
            }),
        );
        // Value 0 never finishes until the gate opens: nothing can be
        // delivered, so the dispatcher must stop at the window.
        let (gate_tx, gate_rx) = chan::bounded::<()>(0);
        let out = pattern::fan_out_ordered(&ctx, src, 2, move |v| {
            if v == 0 {
                let _ = gate_rx.recv();
            }
            v
        });
        baton::time::sleep(Duration::from_millis(30));
        let window = 2 * pattern::ORDERED_WINDOW_PER_WORKER;
        // The window, plus the values parked in the stage's channels (the
        // source's send, the dispatcher's hand, a few buffered).
        let seen = pulled.load(Relaxed);
        assert!(seen <= window + 8, "pulled {seen} values, window {window}");
        drop(gate_tx);
        assert_eq!(out.iter().take(100).count(), 100);
    });
}

#[test]
fn batch_by_size_by_time_and_at_the_end() {
    leak_free("batch", || {
        let ctx = bg();
        let rx = pattern::batch(
            &ctx,
            pattern::generate(&ctx, 0..10),
            4,
            Duration::from_secs(60),
        );
        assert_eq!(
            rx.iter().collect::<Vec<_>>(),
            [vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]
        );
        // A slow trickle: the batch goes out on time, short.
        let (tx, rx) = chan::unbounded();
        let out = pattern::batch(&ctx, rx, 100, Duration::from_millis(20));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(out.recv(), Ok(vec![1, 2]));
        tx.send(3).unwrap();
        drop(tx);
        assert_eq!(out.recv(), Ok(vec![3]));
        assert_eq!(out.recv(), Err(RecvError::Closed));
        // Cancelled while filling: no partial batch, the output closes.
        let (cctx, cancel) = context::with_cancel(&ctx);
        let (tx, rx) = chan::unbounded();
        let out = pattern::batch(&cctx, rx, 100, Duration::from_secs(60));
        tx.send(1).unwrap();
        cancel.cancel();
        assert_eq!(out.recv(), Err(RecvError::Closed));
        drop(tx);
    });
}

#[test]
fn heartbeat_per_unit_and_every() {
    leak_free("heartbeat", || {
        let ctx = bg();
        let mut n = 0;
        let (pulses, results) = pattern::heartbeat(&ctx, Beat::PerUnit, move |_| {
            n += 1;
            (n <= 5).then_some(n)
        });
        let mut got = vec![];
        for _ in 0..5 {
            assert_eq!(pulses.recv(), Ok(()), "a pulse before each unit");
            got.push(results.recv().unwrap());
        }
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert_eq!(results.recv(), Err(RecvError::Closed));

        // Nobody takes the result: the worker keeps pulsing meanwhile.
        let (cctx, cancel) = context::with_cancel(&ctx);
        let (pulses, results) =
            pattern::heartbeat(&cctx, Beat::Every(Duration::from_millis(2)), |_| Some(1));
        for _ in 0..3 {
            assert_eq!(pulses.recv(), Ok(()));
        }
        assert_eq!(results.recv(), Ok(1));
        cancel.cancel();
        assert!(pulses.iter().count() <= 1);
        drop(results);
    });
}

#[test]
fn steward_restarts_a_stuck_ward_and_stops_with_its_context() {
    leak_free("steward", || {
        let (ctx, cancel) = context::with_cancel(&bg());
        let starts = Arc::new(AtomicU32::new(0));
        let s = {
            let starts = starts.clone();
            pattern::steward(&ctx, Duration::from_millis(20), move |ctx, pulse| {
                let nth = starts.fetch_add(1, Relaxed);
                pattern::heartbeat(ctx, Beat::Every(pulse), move |ctx| {
                    // The first two wards hang in one unit (until their
                    // context is cancelled); the third is healthy.
                    let d = if nth < 2 {
                        Duration::from_secs(3600)
                    } else {
                        Duration::from_millis(1)
                    };
                    baton::time::sleep_ctx(ctx, d).ok().map(|_| ())
                })
                .0
            })
        };
        let start = Instant::now();
        while s.restarts() < 2 {
            assert!(start.elapsed() < Duration::from_secs(20), "no restarts");
            baton::time::sleep(Duration::from_millis(5));
        }
        // The healthy ward is not restarted.
        baton::time::sleep(Duration::from_millis(100));
        assert_eq!(s.restarts(), 2);
        assert_eq!(starts.load(Relaxed), 3);
        cancel.cancel();
        s.join();
    });
}

#[test]
fn hedge_first_success_wins_and_losers_are_cancelled() {
    leak_free("hedge", || {
        let ctx = bg();
        let cancelled = Arc::new(AtomicU32::new(0));
        let c = cancelled.clone();
        let r = pattern::hedge(&ctx, 3, Duration::from_millis(5), move |ctx, attempt| {
            if attempt < 2 {
                let e = baton::time::sleep_ctx(ctx, Duration::from_secs(3600)).unwrap_err();
                c.fetch_add(1, Relaxed);
                return Err(e);
            }
            Ok(attempt)
        });
        assert_eq!(r, Ok(2));
        // The two slow attempts see their context cancelled (the leak check
        // would also fail if they did not return).
        let start = Instant::now();
        while cancelled.load(Relaxed) < 2 {
            assert!(start.elapsed() < Duration::from_secs(20));
            baton::time::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
fn hedge_failures_start_the_next_attempt_at_once() {
    leak_free("hedge failures", || {
        let ctx = bg();
        let start = Instant::now();
        // A huge delay: only failures can start attempts 1 and 2.
        let r = pattern::hedge(&ctx, 3, Duration::from_secs(3600), |_, a| {
            if a < 2 {
                Err(a)
            } else {
                Ok("third")
            }
        });
        assert_eq!(r, Ok("third"));
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "waited for the delay"
        );
        let r = pattern::hedge(&ctx, 2, Duration::from_secs(3600), |_, a| Err::<(), _>(a));
        assert_eq!(r, Err(HedgeError::Failed(1)));
    });
}

#[test]
fn hedge_stops_with_the_callers_context() {
    leak_free("hedge cancel", || {
        let (ctx, _cancel) = context::with_timeout(&bg(), Duration::from_millis(10));
        let r = pattern::hedge(&ctx, 2, Duration::from_millis(1), |ctx, _| {
            baton::time::sleep_ctx(ctx, Duration::from_secs(3600))
        });
        assert_eq!(
            r,
            Err(HedgeError::Context(context::Error::DeadlineExceeded))
        );
    });
}

#[test]
fn the_leak_check_catches_a_stage_that_leaks() {
    // Not a pattern: proves the check these tests rely on can fail. A
    // forwarder that ignores its context and whose input never closes.
    let leaks = LeakCheck::new()
        .grace(Duration::from_millis(50))
        .try_run(|| {
            let (tx, rx) = chan::unbounded::<u8>();
            drop(baton::go(move || for _ in rx.iter() {}));
            std::mem::forget(tx);
        })
        .unwrap_err();
    assert_eq!(leaks.goroutines().len(), 1, "{leaks}");
    assert!(
        leaks.goroutines()[0].contains("tests/pattern.rs"),
        "{leaks}"
    );
}

#[test]
fn a_long_pipeline_under_stress() {
    // More goroutines than cores, several stages, cancelled midway and run
    // to the end, repeatedly.
    leak_free("pipeline stress", || {
        for round in 0..20 {
            let (ctx, cancel) = context::with_cancel(&bg());
            let src = pattern::generate(&ctx, 0..5_000u64);
            let sq = pattern::fan_out(&ctx, src, 8, |v| v * v);
            let (a, b) = pattern::tee(&ctx, sq);
            let evens = pattern::fan_out_ordered(&ctx, a, 4, |v| v % 2 == 0);
            let counter = baton::go(move || b.iter().count());
            let batches = pattern::batch(&ctx, evens, 64, Duration::from_millis(5));
            if round % 2 == 0 {
                let n: usize = batches.iter().map(|b| b.len()).sum();
                assert_eq!(n, 5_000);
                assert_eq!(counter.join().unwrap(), 5_000);
            } else {
                let _ = batches.recv();
                cancel.cancel();
                let _ = counter.join().unwrap();
            }
            drop(cancel);
        }
    });
}

#[test]
fn stages_stop_on_cancel_while_their_input_stays_open() {
    // The inputs' senders outlive the body (it returns them): only the
    // context can end each stage, so one that ignores it leaks.
    for workers in [1, 2] {
        within("cancel with open inputs", 60, move || {
            let held = LeakCheck::new().workers(workers).run(|| {
                let (ctx, cancel) = context::with_cancel(&bg());
                let mut held = vec![];
                let mut open = |values: &[u32]| {
                    let (tx, rx) = chan::unbounded::<u32>();
                    values.iter().for_each(|&v| tx.send(v).unwrap());
                    held.push(tx);
                    rx
                };
                let outs: Vec<chan::Receiver<u32>> = vec![
                    pattern::take(&ctx, open(&[1]), 10),
                    pattern::buffer(&ctx, open(&[1]), 4),
                    pattern::fan_in(&ctx, vec![open(&[1]), open(&[])]),
                    pattern::fan_out(&ctx, open(&[1]), 3, |v| v),
                    pattern::fan_out_ordered(&ctx, open(&[1]), 3, |v| v),
                    pattern::tee(&ctx, open(&[1])).0,
                ];
                let batches = pattern::batch(&ctx, open(&[1]), 10, Duration::from_secs(3600));
                let (btx, brx) = chan::unbounded();
                btx.send(open(&[1])).unwrap();
                let bridged = pattern::bridge(&ctx, brx);
                for o in &outs {
                    assert_eq!(o.recv(), Ok(1));
                }
                assert_eq!(bridged.recv(), Ok(1));
                cancel.cancel();
                for (i, o) in outs.iter().enumerate() {
                    let r = o.recv_timeout(Duration::from_secs(10));
                    assert!(
                        matches!(r, Err(chan::RecvTimeoutError::Closed)),
                        "stage {i} did not close its output on cancel: {r:?}"
                    );
                }
                assert!(batches.recv().is_err());
                assert!(bridged.recv().is_err());
                (held, btx)
            });
            drop(held);
        });
    }
}

#[test]
fn stage_and_filter_keep_order_and_stop() {
    leak_free("stage filter", || {
        let ctx = bg();
        let sq = pattern::stage(&ctx, pattern::generate(&ctx, 0..100u64), |v| v * v);
        let even = pattern::filter(&ctx, sq, |v| v % 2 == 0);
        let want: Vec<_> = (0..100u64).map(|v| v * v).filter(|v| v % 2 == 0).collect();
        assert_eq!(even.iter().collect::<Vec<_>>(), want);
        let (cctx, cancel) = context::with_cancel(&ctx);
        let s = pattern::stage(&cctx, pattern::generate(&cctx, 0..), |v: u64| v + 1);
        let f = pattern::filter(&cctx, s, |_| true);
        assert_eq!(cancelled_after(f, 3, cancel), [1, 2, 3]);
    });
}
