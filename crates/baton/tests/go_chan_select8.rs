//! Go's `test/chan/select8.go`: `break` inside select arms, in selects of
//! one, two and three cases (gccgo once miscompiled them).
//!
//! In Go, `break` in a case leaves the `select`. `select!` is an expression,
//! so an arm is left by finishing it; Rust's `break`, `continue`, `return`
//! and `?` inside an arm act on the enclosing loop or function, exactly as
//! in a `match` arm. The port checks that: the macro wraps arms in no loop
//! or closure of its own, in selects of one, two and three arms, with and
//! without `default`.
#![cfg(not(loom))]
// The loops below are meant to run once: that is what is checked.
#![allow(clippy::never_loop)]

use baton::chan::{bounded, Receiver};
use baton::select;

fn ready() -> (baton::chan::Sender<i32>, Receiver<i32>) {
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    (tx, rx)
}

#[test]
fn break_in_arms_leaves_the_enclosing_loop() {
    let (_t1, r1) = ready();
    let (_t2, r2) = bounded::<i32>(1);
    let (_t3, r3) = bounded::<i32>(1);

    let mut rounds = 0;
    loop {
        rounds += 1;
        select! {
            recv(r1) -> v => { assert_eq!(v, Ok(1)); break; }
        }
        #[allow(unreachable_code)]
        {
            unreachable!("break in a one-arm select did not leave the loop");
        }
    }
    assert_eq!(rounds, 1);

    let mut rounds = 0;
    loop {
        rounds += 1;
        select! {
            recv(r2) -> _ => unreachable!("empty"),
            default => break,
        }
    }
    assert_eq!(rounds, 1);

    let (_t1, r1) = ready();
    let mut rounds = 0;
    let got = loop {
        rounds += 1;
        select! {
            recv(r1) -> v => break v.unwrap(),
            recv(r2) -> _ => unreachable!("empty"),
            recv(r3) -> _ => unreachable!("empty"),
        }
    };
    assert_eq!((rounds, got), (1, 1));
}

#[test]
fn continue_and_labelled_break() {
    let (tx, rx) = bounded::<i32>(4);
    for i in 0..4 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut seen = Vec::new();
    'outer: for _ in 0..10 {
        for _ in 0..1 {
            select! {
                recv(rx) -> v => match v {
                    Ok(i) if i % 2 == 0 => continue 'outer,
                    Ok(i) => seen.push(i),
                    Err(_) => break 'outer,
                },
                default => unreachable!("a value or the close is always ready"),
            }
        }
    }
    assert_eq!(seen, [1, 3]);
}

fn first_or_error(rx: &Receiver<i32>) -> Result<i32, String> {
    let v = select! {
        recv(rx) -> v => v.map_err(|e| format!("{e:?}"))?,
    };
    if v < 0 {
        return Err("negative".into());
    }
    select! {
        recv(rx) -> _ => return Ok(-1),
        default => {}
    }
    Ok(v)
}

#[test]
fn return_and_question_mark_leave_the_function() {
    let (tx, rx) = bounded(2);
    tx.send(5).unwrap();
    assert_eq!(first_or_error(&rx), Ok(5));
    tx.send(6).unwrap();
    tx.send(7).unwrap();
    assert_eq!(first_or_error(&rx), Ok(-1));
    tx.send(-2).unwrap();
    assert_eq!(first_or_error(&rx), Err("negative".into()));
    drop(tx);
    assert!(first_or_error(&rx).is_err());
}
