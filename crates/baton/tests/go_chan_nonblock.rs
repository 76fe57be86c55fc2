//! Go's `test/chan/nonblock.go`: non-blocking sends and receives
//! (`select` with `default`, here `try_send`/`try_recv` and `select!`'s
//! `default` arm) on buffered and unbuffered channels of several value
//! types, each against a goroutine blocked on the other side.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use baton::chan::{bounded, Receiver, Sender, TryRecvError};
use baton::select;
use common::{both, spawn};

/// Go's `sleep`: let the other goroutine reach its blocking operation.
fn sleep() {
    baton::time::sleep(Duration::from_micros(50));
}

/// Retries a non-blocking op until it succeeds, as Go's test loops over
/// `sleep` until the other side is ready (bounded, so a bug fails loudly).
fn until<T>(mut op: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100_000 {
        if let Some(v) = op() {
            return v;
        }
        sleep();
    }
    panic!("the non-blocking operation never succeeded");
}

fn case<T>(buffer: usize, to_recv: T, to_send: T)
where
    T: Clone + PartialEq + std::fmt::Debug + Send + 'static,
{
    let (sync_tx, sync) = bounded::<()>(0);
    let (tx, rx): (Sender<T>, Receiver<T>) = bounded(buffer);

    // Nothing there: a non-blocking receive fails at once.
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    let got = select! {
        recv(rx) -> _ => true,
        default => false,
    };
    assert!(!got, "blocked sender");

    // A receiver waiting: a non-blocking send succeeds.
    let (rx2, st, want) = (rx.clone(), sync_tx.clone(), to_recv.clone());
    spawn(move || {
        assert_eq!(rx2.recv(), Ok(want), "receiver value");
        st.send(()).unwrap();
    });
    let mut v = Some(to_recv);
    until(|| match tx.try_send(v.take().unwrap()) {
        Ok(()) => Some(()),
        Err(e) => {
            v = Some(e.into_inner());
            None
        }
    });
    sync.recv().unwrap();

    // A sender waiting: a non-blocking receive succeeds.
    let (tx2, st, val) = (tx.clone(), sync_tx.clone(), to_send.clone());
    spawn(move || {
        tx2.send(val).unwrap();
        st.send(()).unwrap();
    });
    if buffer > 0 {
        sync.recv().unwrap();
    }
    let got = until(|| {
        select! {
            recv(rx) -> v => Some(v.unwrap()),
            default => None,
        }
    });
    assert_eq!(got, to_send, "sender value");
    if buffer == 0 {
        sync.recv().unwrap();
    }
}

#[test]
fn nonblock() {
    both("nonblock", 60, || {
        for buffer in 0..2 {
            case::<i32>(buffer, 123, 234);
            case::<i64>(buffer, 123456, 234567);
            case::<bool>(buffer, true, true);
            case::<String>(buffer, "hello".into(), "hello again".into());
        }
    });
}
