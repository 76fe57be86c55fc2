//! Loom models of the cancellation tree (`tree.rs`): every interleaving of
//! concurrent cancels, attachment, withdrawal and waiting, with the
//! module's invariants checked at the end of each.

use std::sync::Arc as StdArc;

use super::error::{Cause, Error};
use super::tree::{Hook, Node};
use crate::park;
use crate::shim::atomic::{AtomicUsize, Ordering};
use crate::shim::Arc;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

fn cause(s: &'static str) -> Cause {
    StdArc::new(std::io::Error::other(s))
}

/// Two cancels race: exactly one wins, each sees the node done once it
/// returns, and the error and cause are the winner's, together.
#[test]
fn loom_cancel_first_wins() {
    model(|| {
        let n = Node::new();
        let a = cause("a");
        let n1 = n.clone();
        let a1 = a.clone();
        let t = loom::thread::spawn(move || {
            let won = n1.cancel(Error::DeadlineExceeded, Some(a1));
            assert!(n1.err().is_some(), "done once cancel returns");
            won
        });
        let won_here = n.cancel(Error::Canceled, None);
        assert!(n.err().is_some(), "done once cancel returns");
        let won_there = t.join().unwrap();
        assert!(won_here ^ won_there, "exactly one cancel wins");
        let c = n.cause().unwrap();
        if won_there {
            assert_eq!(n.err(), Some(Error::DeadlineExceeded));
            assert!(StdArc::ptr_eq(&c, &a));
        } else {
            assert_eq!(n.err(), Some(Error::Canceled));
            assert_eq!(c.downcast_ref::<Error>(), Some(&Error::Canceled));
        }
    });
}

/// A child cancels itself while its parent is cancelled: both end done,
/// the parent holds no registration, and the child's error is one of the
/// two cancels' (both `Canceled` here, with distinct causes).
#[test]
fn loom_child_cancel_races_parent_cancel() {
    model(|| {
        let parent = Node::new();
        let child = Node::new();
        Node::attach(&parent, &child);
        assert_eq!(parent.registrations(), 1);
        let (pc, cc) = (cause("parent"), cause("child"));
        let c1 = child.clone();
        let cc1 = cc.clone();
        let t = loom::thread::spawn(move || {
            c1.cancel(Error::Canceled, Some(cc1));
        });
        parent.cancel(Error::Canceled, Some(pc.clone()));
        t.join().unwrap();
        assert_eq!(parent.registrations(), 0, "the child stays registered");
        assert_eq!(child.err(), Some(Error::Canceled));
        let got = child.cause().unwrap();
        assert!(StdArc::ptr_eq(&got, &pc) || StdArc::ptr_eq(&got, &cc));
    });
}

/// A child is attached while the parent is cancelled: the child always
/// ends done with the parent's cause (at attach, or by propagation) and
/// the parent holds nothing.
#[test]
fn loom_attach_races_parent_cancel() {
    model(|| {
        let parent = Node::new();
        let pc = cause("parent");
        let p1 = parent.clone();
        let pc1 = pc.clone();
        let t = loom::thread::spawn(move || {
            p1.cancel(Error::DeadlineExceeded, Some(pc1));
        });
        let child = Node::new();
        Node::attach(&parent, &child);
        t.join().unwrap();
        assert_eq!(child.err(), Some(Error::DeadlineExceeded));
        assert!(StdArc::ptr_eq(&child.cause().unwrap(), &pc));
        assert_eq!(parent.registrations(), 0);
    });
}

/// A waiter registers its unparker, then parks until the node is done,
/// while another thread cancels: the wake is never lost (loom reports a
/// deadlock if the waiter parks for good), and the waiter's registration
/// is gone afterwards whichever way it ended.
#[test]
fn loom_waiter_is_woken_by_cancel() {
    model(|| {
        let n = Node::new();
        let n1 = n.clone();
        let waiter = loom::thread::spawn(move || {
            let token = n1.register(Hook::Unpark(park::current())).ok();
            while n1.err().is_none() {
                park::park();
            }
            if let Some(t) = token {
                assert!(n1.withdraw(t).is_none(), "the cancel took it");
            }
        });
        n.cancel(Error::Canceled, None);
        waiter.join().unwrap();
        assert_eq!(n.registrations(), 0);
    });
}

/// Withdrawing a callback races with the cancel: exactly one of "it was
/// withdrawn" and "it ran" happens (`AfterFunc::stop`'s guarantee).
#[test]
fn loom_withdraw_or_run_exactly_once() {
    model(|| {
        let n = Node::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let r1 = ran.clone();
        let token = n
            .register(Hook::Run(Box::new(move || {
                r1.fetch_add(1, Ordering::Relaxed);
            })))
            .ok()
            .unwrap();
        let n1 = n.clone();
        let t = loom::thread::spawn(move || n1.withdraw(token).is_some());
        n.cancel(Error::Canceled, None);
        let withdrew = t.join().unwrap();
        let ran = ran.load(Ordering::Relaxed);
        assert_eq!(
            usize::from(withdrew) + ran,
            1,
            "withdrew={withdrew} ran={ran}"
        );
        // A second withdrawal of the same token finds nothing.
        assert!(n.withdraw(token).is_none());
    });
}

/// Three levels, the middle one cancelled while the top one is: every
/// node ends done, and no node holds a registration.
#[test]
fn loom_grandchild_sees_either_cancel() {
    model(|| {
        let top = Node::new();
        let mid = Node::new();
        let low = Node::new();
        Node::attach(&top, &mid);
        Node::attach(&mid, &low);
        let m1 = mid.clone();
        let t = loom::thread::spawn(move || {
            m1.cancel(Error::Canceled, None);
        });
        top.cancel(Error::DeadlineExceeded, None);
        t.join().unwrap();
        for n in [&top, &mid, &low] {
            assert!(n.err().is_some());
            assert_eq!(n.registrations(), 0);
        }
        // The grandchild's error is its parent's, whichever cancel won there.
        assert_eq!(low.err(), mid.err());
    });
}
