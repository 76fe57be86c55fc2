//! Go's `test/chan/select5.go`, which generates a program that runs a
//! `select` in every combination of arm kinds (send, receive), channel
//! states (ready, not ready, nil) and with or without `default`, and checks
//! that the channel and value expressions are evaluated as specified and
//! that the arm that ran is one that could run.
//!
//! Ported as a table instead of a generated program: four arm layouts
//! (`recv recv recv`, `recv send recv`, `send recv send`, `send send send`),
//! each arm ready, not ready or nil (`None`), with and without `default`:
//! 4 × 27 × 2 selects. What each checks:
//!
//! - every channel expression is evaluated exactly once, in source order,
//!   before anything is chosen (Go's rule too);
//! - every send arm's value expression is evaluated exactly once, in source
//!   order, on entry — whichever arm runs, `default` included (Go's rule;
//!   baton followed crossbeam's "only if chosen" until issue 10, item 1);
//! - the arm that ran was ready, `default` runs only when none was, and
//!   the channels afterwards show exactly the one operation that ran.
//!
//! Selects with nothing ready and no `default` would block: Go's generator
//! skips running those too (it only compiles them), and `go_chan_select3`
//! checks that they block.
#![cfg(not(loom))]

use baton::chan::{bounded, Receiver, Sender};
use baton::select;

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Ready,
    NotReady,
    Nil,
}

const STATES: [State; 3] = [State::Ready, State::NotReady, State::Nil];

/// One arm's channel: for a receive arm, ready means a value waits; for a
/// send arm, ready means there is room (capacity 1).
struct Chan {
    tx: Sender<i32>,
    rx: Receiver<i32>,
    state: State,
    send: bool,
}

/// The value parked in a ready receive arm's channel, or filling a send
/// arm's channel that is not ready.
const PRELOADED: i32 = 7;

impl Chan {
    fn new(send: bool, state: State) -> Chan {
        let (tx, rx) = bounded(1);
        let preload = if send {
            state == State::NotReady
        } else {
            state == State::Ready
        };
        if preload {
            tx.send(PRELOADED).unwrap();
        }
        Chan {
            tx,
            rx,
            state,
            send,
        }
    }

    fn rx(&self) -> Option<&Receiver<i32>> {
        (self.state != State::Nil).then_some(&self.rx)
    }

    fn tx(&self) -> Option<&Sender<i32>> {
        (self.state != State::Nil).then_some(&self.tx)
    }

    /// What the channel holds now.
    fn contents(&self) -> Vec<i32> {
        self.rx.try_iter().collect()
    }
}

/// What a select did: which arm ran (`None`: default), the order channel
/// expressions were evaluated in, the send values evaluated, and what a
/// receive arm got.
#[derive(Debug, Default)]
struct Outcome {
    ran: Option<usize>,
    channels: Vec<usize>,
    values: Vec<usize>,
    received: Option<i32>,
}

/// Evaluation log of one select.
#[derive(Default)]
struct Log {
    channels: Vec<usize>,
    values: Vec<usize>,
}

impl Log {
    fn rx<'a>(&mut self, c: &'a [Chan; 3], i: usize) -> Option<&'a Receiver<i32>> {
        self.channels.push(i);
        c[i].rx()
    }

    fn tx<'a>(&mut self, c: &'a [Chan; 3], i: usize) -> Option<&'a Sender<i32>> {
        self.channels.push(i);
        c[i].tx()
    }

    fn value(&mut self, i: usize) -> i32 {
        self.values.push(i);
        100 + i as i32
    }
}

/// Runs `body` with a fresh log and collects the outcome.
fn outcome(body: impl FnOnce(&mut Log, &mut Option<i32>) -> Option<usize>) -> Outcome {
    let mut log = Log::default();
    let mut received = None;
    let ran = body(&mut log, &mut received);
    Outcome {
        ran,
        channels: log.channels,
        values: log.values,
        received,
    }
}

/// Defines a layout's runner: the same arms with and without `default`.
/// (The parameter names come from the call, so that the arms can use them.)
macro_rules! layout {
    ($name:ident($c:ident, $l:ident, $got:ident): $($arm:tt)*) => {
        fn $name($c: &[Chan; 3], default: bool, $l: &mut Log, $got: &mut Option<i32>) -> Option<usize> {
            let _ = &$got; // unused by the all-send layout
            if default {
                select! { $($arm)* default => None, }
            } else {
                select! { $($arm)* }
            }
        }
    };
}

// Each channel expression logs itself as it is evaluated (the borrow of
// `l` ends with the call: the channel's lifetime is `c`'s), and so does
// each send value.

layout!(rrr(c, l, got):
    recv(l.rx(c, 0)) -> r => { *got = r.ok(); Some(0) }
    recv(l.rx(c, 1)) -> r => { *got = r.ok(); Some(1) }
    recv(l.rx(c, 2)) -> r => { *got = r.ok(); Some(2) }
);

layout!(rsr(c, l, got):
    recv(l.rx(c, 0)) -> r => { *got = r.ok(); Some(0) }
    send(l.tx(c, 1), l.value(1)) -> r => { r.unwrap(); Some(1) }
    recv(l.rx(c, 2)) -> r => { *got = r.ok(); Some(2) }
);

layout!(srs(c, l, got):
    send(l.tx(c, 0), l.value(0)) -> r => { r.unwrap(); Some(0) }
    recv(l.rx(c, 1)) -> r => { *got = r.ok(); Some(1) }
    send(l.tx(c, 2), l.value(2)) -> r => { r.unwrap(); Some(2) }
);

layout!(sss(c, l, got):
    send(l.tx(c, 0), l.value(0)) -> r => { r.unwrap(); Some(0) }
    send(l.tx(c, 1), l.value(1)) -> r => { r.unwrap(); Some(1) }
    send(l.tx(c, 2), l.value(2)) -> r => { r.unwrap(); Some(2) }
);

type Runner = fn(&[Chan; 3], bool, &mut Log, &mut Option<i32>) -> Option<usize>;

const LAYOUTS: [(&str, [bool; 3], Runner); 4] = [
    ("recv recv recv", [false, false, false], rrr),
    ("recv send recv", [false, true, false], rsr),
    ("send recv send", [true, false, true], srs),
    ("send send send", [true, true, true], sss),
];

fn check(name: &str, sends: [bool; 3], run: Runner, states: [State; 3], default: bool) {
    let what = format!("{name} {states:?} default={default}");
    let c = [0, 1, 2].map(|i| Chan::new(sends[i], states[i]));
    let ready: Vec<usize> = (0..3).filter(|&i| states[i] == State::Ready).collect();
    if ready.is_empty() && !default {
        return; // would block (see the module docs)
    }
    let o = outcome(|l, got| run(&c, default, l, got));
    let all_sends: Vec<usize> = (0..3).filter(|&i| sends[i]).collect();

    assert_eq!(
        o.channels,
        [0, 1, 2],
        "{what}: channel expressions once each, in order"
    );
    match o.ran {
        None => {
            assert!(
                ready.is_empty(),
                "{what}: default ran while {ready:?} were ready"
            );
            assert_eq!(
                o.values, all_sends,
                "{what}: every send value, once, in order, also for default"
            );
        }
        Some(i) => {
            assert!(
                ready.contains(&i),
                "{what}: arm {i} ran but only {ready:?} were ready"
            );
            assert_eq!(
                o.values, all_sends,
                "{what}: every send value, once, in order"
            );
            if !sends[i] {
                assert_eq!(o.received, Some(PRELOADED), "{what}: received value");
            }
        }
    }
    // Each channel holds what it held, except the one that ran.
    for (i, ch) in c.iter().enumerate() {
        let before_full = if ch.send {
            ch.state == State::NotReady
        } else {
            ch.state == State::Ready
        };
        let expect: Vec<i32> = match (o.ran == Some(i), ch.send, before_full) {
            (true, true, _) => vec![100 + i as i32],
            (true, false, _) => vec![],
            (false, _, true) => vec![PRELOADED],
            (false, _, false) => vec![],
        };
        assert_eq!(ch.contents(), expect, "{what}: channel {i} afterwards");
    }
}

fn all_states() -> impl Iterator<Item = [State; 3]> {
    STATES.into_iter().flat_map(|a| {
        STATES
            .into_iter()
            .flat_map(move |b| STATES.into_iter().map(move |c| [a, b, c]))
    })
}

#[test]
fn every_layout_state_and_default() {
    let mut ran = 0;
    for (name, sends, run) in LAYOUTS {
        for states in all_states() {
            for default in [false, true] {
                check(name, sends, run, states, default);
                ran += 1;
            }
        }
    }
    assert_eq!(ran, 4 * 27 * 2);
}

/// With several arms ready, each is chosen sometimes (Go's uniform choice;
/// `go_chan_select_fairness` measures the distribution).
#[test]
fn every_ready_arm_gets_chosen() {
    for (name, sends, run) in LAYOUTS {
        let mut seen = [false; 3];
        for _ in 0..1000 {
            let c = [0, 1, 2].map(|i| Chan::new(sends[i], State::Ready));
            let o = outcome(|l, got| run(&c, false, l, got));
            seen[o.ran.expect("all arms were ready")] = true;
            if seen == [true; 3] {
                break;
            }
        }
        assert_eq!(
            seen, [true; 3],
            "{name}: in 1000 selects some ready arm never ran"
        );
    }
}
