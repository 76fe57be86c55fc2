//! Unit tests of the group's bookkeeping: panics and their messages, the
//! limit's permits, causes. Go's own errgroup tests are ported in
//! `tests/go_x_sync_errgroup.rs`.

use super::*;
use crate::chan;
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_message(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("it should panic");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn set_limit_while_active_panics_and_changes_nothing() {
    let g = Group::new();
    g.set_limit(Some(3));
    let (release, hold) = chan::rendezvous::<()>();
    for _ in 0..2 {
        let hold = hold.clone();
        g.go(move || {
            hold.recv().ok();
            Ok(())
        });
    }
    let msg = panic_message(|| g.set_limit(Some(1)));
    assert_eq!(
        msg,
        "errgroup: modify limit while 2 goroutines in the group are still active"
    );
    assert_eq!(g.limit(), Some(3), "the limit is unchanged");
    release.close();
    g.wait().unwrap();
    g.set_limit(Some(1));
    assert_eq!(g.limit(), Some(1));
}

#[test]
fn go_with_a_limit_of_zero_panics_instead_of_hanging() {
    let g = Group::new();
    g.set_limit(Some(0));
    let msg = panic_message(|| g.go(|| Ok(())));
    assert!(msg.contains("limit of 0 would block forever"), "{msg}");
    assert!(!g.try_go(|| Ok(())));
    g.wait().unwrap();
}

#[test]
fn permits_go_back_to_the_semaphore_they_came_from() {
    let g = Group::new();
    g.set_limit(Some(1));
    g.go(|| Ok(()));
    g.wait().unwrap();
    g.set_limit(Some(2));
    // The old semaphore got its permit back; the new one has both free.
    let (release, hold) = chan::rendezvous::<()>();
    for _ in 0..2 {
        let hold = hold.clone();
        assert!(g.try_go(move || {
            hold.recv().ok();
            Ok(())
        }));
    }
    assert!(!g.try_go(|| Ok(())));
    release.close();
    g.wait().unwrap();
}

#[test]
fn only_the_first_error_is_kept_and_handed_out_once() {
    let g = Group::<u32>::typed();
    g.go(|| Err(1));
    g.wait().unwrap_err();
    g.go(|| Err(2)); // not the first: dropped, as Go's errOnce
    assert_eq!(g.wait(), Ok(()));
}

#[test]
fn a_panic_wins_over_an_error_at_wait() {
    let g = Group::new();
    g.go(|| Err("an error".into()));
    g.go(|| panic!("a panic"));
    let msg = panic_message(|| drop(g.wait()));
    assert_eq!(msg, "a panic");
    // Re-raised once; the error was dropped with it.
    assert!(g.wait().is_ok());
}

#[test]
fn failed_displays_as_the_error_or_the_panic() {
    assert_eq!(Failed::error("x".into()).to_string(), "x");
    assert_eq!(Failed::panic("y".into()).to_string(), "panicked: y");
    let p = Failed::panic("z".into());
    assert!(p.panicked());
    assert_eq!(p.message(), "z");
}

#[test]
fn a_member_can_start_members() {
    let g = Group::new();
    let (tx, rx) = chan::unbounded();
    let inner = g.clone();
    g.go(move || {
        for i in 0..3 {
            let tx = tx.clone();
            inner.go(move || {
                tx.send(i).unwrap();
                Ok(())
            });
        }
        Ok(())
    });
    g.wait().unwrap();
    let mut got: Vec<i32> = rx.try_iter().collect();
    got.sort();
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn debug_shows_the_state() {
    let g = Group::new();
    g.set_limit(Some(2));
    let s = format!("{g:?}");
    assert!(
        s.contains("active: 0") && s.contains("limit: Some(2)"),
        "{s}"
    );
}

#[test]
fn dropping_the_group_cancels_its_context_once_the_members_are_done() {
    let (g, ctx) = Group::with_context(&crate::context::background());
    let (release, hold) = chan::rendezvous::<()>();
    g.go(move || {
        hold.recv().ok();
        Ok(())
    });
    drop(g);
    assert!(!ctx.is_done(), "a member still runs: it holds the group");
    release.send(()).unwrap();
    // The member's end drops the last share of the group, and with it the
    // cancel function.
    assert_eq!(
        ctx.done().recv_timeout(std::time::Duration::from_secs(30)),
        Err(chan::RecvTimeoutError::Closed)
    );
}
