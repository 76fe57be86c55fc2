//! Unit tests of the signal module: names, sets, and one round trip per
//! kind of subscriber (the process-level behaviour — default actions,
//! exit statuses — is tested in child processes in `tests/signal.rs`).

use super::hub::{self, SignalSet};
use super::*;
use crate::chan;
use std::time::Duration;

#[test]
fn names_are_go_s() {
    assert_eq!(SIGINT.to_string(), "interrupt");
    assert_eq!(SIGTERM.to_string(), "terminated");
    assert_eq!(SIGHUP.to_string(), "hangup");
    assert_eq!(SIGUSR1.to_string(), "user defined signal 1");
    assert_eq!(format!("{SIGQUIT:?}"), "SIGQUIT");
    for s in Signal::all() {
        assert_eq!(Signal::from_number(s.number()), Some(s));
        assert!(s.name().starts_with("SIG"), "{s:?}");
        assert_eq!(
            signal_hook::low_level::signal_name(s.number()),
            Some(s.name()),
            "the C name matches signal-hook's table"
        );
    }
}

#[test]
fn faults_and_uncatchables_are_not_signals() {
    for n in [
        libc::SIGKILL,
        libc::SIGSTOP,
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGABRT,
        0,
        -1,
        64,
    ] {
        assert_eq!(Signal::from_number(n), None, "{n}");
    }
}

#[test]
fn an_empty_list_means_every_signal() {
    assert_eq!(
        SignalSet::of(&[]).to_vec(),
        Signal::all().collect::<Vec<_>>()
    );
    assert_eq!(
        SignalSet::of(&[SIGTERM, SIGINT, SIGTERM]).to_vec(),
        [SIGINT, SIGTERM]
    );
}

#[test]
fn notify_relays_and_drop_unsubscribes() {
    let (tx, rx) = chan::bounded(4);
    let before = hub::wanted(SIGUSR1);
    let sub = notify(&tx, &[SIGUSR1]);
    assert_eq!(hub::wanted(SIGUSR1), before + 1);
    raise(SIGUSR1).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(SIGUSR1));
    drop(sub);
    assert_eq!(hub::wanted(SIGUSR1), before);
    drop(tx);
    // The subscription's clone of the sender went with it: closed now.
    assert!(rx.recv_timeout(Duration::from_secs(10)).is_err());
}

#[test]
fn a_full_channel_drops_the_signal_and_never_blocks_delivery() {
    let (tx, rx) = chan::bounded(1);
    let (tx2, rx2) = chan::bounded(8);
    let _full = notify(&tx, &[SIGUSR2]);
    let _other = notify(&tx2, &[SIGUSR2]);
    for _ in 0..3 {
        raise(SIGUSR2).unwrap();
        // Each raise is delivered before the next (waiting on the second
        // subscriber), so the kernel cannot merge them.
        assert_eq!(rx2.recv_timeout(Duration::from_secs(10)), Ok(SIGUSR2));
    }
    assert_eq!(rx.try_recv(), Ok(SIGUSR2));
    assert!(rx.try_recv().is_err(), "the two others were dropped");
}
