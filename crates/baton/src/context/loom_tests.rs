//! Loom models of the cancellation tree (`tree.rs`): every interleaving of
//! concurrent cancels, attachment, withdrawal and waiting, with the
//! module's invariants checked at the end of each.

use std::sync::Arc as StdArc;

use super::error::{Cause, Error};
use super::tree::{self, Hook, Member, MemberRef, Node};
use crate::park;
use crate::shim::atomic::{AtomicUsize, Ordering};
use crate::shim::Arc;

/// A stand-in for a cancellable context: a node and a strong parent.
struct M {
    node: Node,
    parent: Option<MemberRef>,
}

impl Member for M {
    fn node(&self) -> &Node {
        &self.node
    }
    fn parent(&self) -> Option<&dyn Member> {
        self.parent.as_deref()
    }
    fn parent_ref(&self) -> Option<MemberRef> {
        self.parent.clone()
    }
}

/// A new member under `parent`, detached (as `with_cancel` makes it).
fn detached_child_of(parent: Option<&MemberRef>) -> MemberRef {
    let m: StdArc<dyn Member> = StdArc::new(M {
        node: Node::new(parent.is_none()),
        parent: parent.cloned(),
    });
    Arc::from_std(m)
}

/// A new member under `parent`, attached (as a context whose done channel
/// was asked for).
fn child_of(parent: Option<&MemberRef>) -> MemberRef {
    let m = detached_child_of(parent);
    tree::attach(&m);
    m
}

fn root() -> MemberRef {
    child_of(None)
}

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
        let m = root();
        let a = cause("a");
        let m1 = m.clone();
        let a1 = a.clone();
        let t = loom::thread::spawn(move || {
            let won = tree::cancel(&*m1, Error::DeadlineExceeded, Some(a1));
            assert!(m1.node().err().is_some(), "done once cancel returns");
            won
        });
        let won_here = tree::cancel(&*m, Error::Canceled, None);
        let n = m.node();
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
        let parent = root();
        let child = child_of(Some(&parent));
        assert_eq!(parent.node().registrations(), 1);
        let (pc, cc) = (cause("parent"), cause("child"));
        let c1 = child.clone();
        let cc1 = cc.clone();
        let t = loom::thread::spawn(move || {
            tree::cancel(&*c1, Error::Canceled, Some(cc1));
        });
        tree::cancel(&*parent, Error::Canceled, Some(pc.clone()));
        t.join().unwrap();
        assert_eq!(
            parent.node().registrations(),
            0,
            "the child stays registered"
        );
        assert_eq!(child.node().err(), Some(Error::Canceled));
        let got = child.node().cause().unwrap();
        assert!(StdArc::ptr_eq(&got, &pc) || StdArc::ptr_eq(&got, &cc));
    });
}

/// A child is attached while the parent is cancelled: the child always
/// ends done with the parent's cause (at attach, or by propagation) and
/// the parent holds nothing.
#[test]
fn loom_attach_races_parent_cancel() {
    model(|| {
        let parent = root();
        let pc = cause("parent");
        let p1 = parent.clone();
        let pc1 = pc.clone();
        let t = loom::thread::spawn(move || {
            tree::cancel(&*p1, Error::DeadlineExceeded, Some(pc1));
        });
        let child = child_of(Some(&parent));
        t.join().unwrap();
        assert_eq!(child.node().err(), Some(Error::DeadlineExceeded));
        assert!(StdArc::ptr_eq(&child.node().cause().unwrap(), &pc));
        assert_eq!(parent.node().registrations(), 0);
    });
}

/// A waiter registers its unparker, then parks until the node is done,
/// while another thread cancels: the wake is never lost (loom reports a
/// deadlock if the waiter parks for good), and the waiter's registration
/// is gone afterwards whichever way it ended.
#[test]
fn loom_waiter_is_woken_by_cancel() {
    model(|| {
        let m = root();
        let m1 = m.clone();
        let waiter = loom::thread::spawn(move || {
            let n1 = m1.node();
            let token = n1.register(Hook::Unpark(park::current())).ok();
            while n1.err().is_none() {
                park::park();
            }
            if let Some(t) = token {
                assert!(n1.withdraw(t).is_none(), "the cancel took it");
            }
        });
        tree::cancel(&*m, Error::Canceled, None);
        waiter.join().unwrap();
        assert_eq!(m.node().registrations(), 0);
    });
}

/// Withdrawing a callback races with the cancel: exactly one of "it was
/// withdrawn" and "it ran" happens (`AfterFunc::stop`'s guarantee).
#[test]
fn loom_withdraw_or_run_exactly_once() {
    model(|| {
        let m = root();
        let n = m.node();
        let ran = Arc::new(AtomicUsize::new(0));
        let r1 = ran.clone();
        let token = n
            .register(Hook::Run(Box::new(move || {
                r1.fetch_add(1, Ordering::Relaxed);
            })))
            .ok()
            .unwrap();
        let m1 = m.clone();
        let t = loom::thread::spawn(move || m1.node().withdraw(token).is_some());
        tree::cancel(&*m, Error::Canceled, None);
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
        let top = root();
        let mid = child_of(Some(&top));
        let low = child_of(Some(&mid));
        let m1 = mid.clone();
        let t = loom::thread::spawn(move || {
            tree::cancel(&*m1, Error::Canceled, None);
        });
        tree::cancel(&*top, Error::DeadlineExceeded, None);
        t.join().unwrap();
        for m in [&top, &mid, &low] {
            assert!(m.node().err().is_some());
            assert_eq!(m.node().registrations(), 0);
        }
        // The grandchild's error is its parent's, whichever cancel won there.
        assert_eq!(low.node().err(), mid.node().err());
    });
}

/// The last of two cancel-function handles dropped on two threads cancels,
/// exactly once, whichever it is (the count in the node).
#[test]
fn loom_last_cancel_func_cancels_once() {
    model(|| {
        let m = root();
        let n = m.node();
        n.add_canceller();
        n.add_canceller();
        let cancels = Arc::new(AtomicUsize::new(0));
        let drop_one = |m: MemberRef, cancels: Arc<AtomicUsize>| {
            if m.node().drop_canceller() && tree::cancel(&*m, Error::Canceled, None) {
                cancels.fetch_add(1, Ordering::Relaxed);
            }
        };
        let (m1, c1) = (m.clone(), cancels.clone());
        let t = loom::thread::spawn(move || drop_one(m1, c1));
        drop_one(m.clone(), cancels.clone());
        t.join().unwrap();
        assert_eq!(cancels.load(Ordering::Relaxed), 1);
        assert_eq!(m.node().err(), Some(Error::Canceled));
    });
}

/// A wait-queue wait that a cancel aborts (the context-taking `sync`
/// waits): the waiter registers on the node, queues, and parks; the
/// cancel unparks it and it leaves the queue. It never sleeps for good
/// (loom reports a deadlock otherwise), it ends `TimedOut` unless a wake
/// from the queue raced in, and the queue is empty afterwards.
#[test]
fn loom_wait_queue_wait_aborted_by_cancel() {
    use crate::park::wait_queue::{Until, WaitQueue, Waited};
    model(|| {
        let m = root();
        let q: Arc<WaitQueue<()>> = Arc::new(WaitQueue::new());
        let (m1, q1) = (m.clone(), q.clone());
        let waiter = loom::thread::spawn(move || {
            let node = m1.node();
            let Ok(token) = node.register(Hook::Unpark(park::current())) else {
                return None; // cancelled before: the wait never starts
            };
            let abort = || node.err().is_some();
            let until = Until {
                deadline: None,
                abort: Some(&abort),
            };
            let waited = q1.wait((), until, |_| true, || {}, |_| {});
            drop(node.withdraw(token));
            Some(waited)
        });
        tree::cancel(&*m, Error::Canceled, None);
        let waited = waiter.join().unwrap();
        assert!(
            matches!(waited, None | Some(Waited::TimedOut)),
            "{waited:?}"
        );
        assert!(q.lock().is_empty());
        assert_eq!(m.node().registrations(), 0);
    });
}

/// A detached chain (top, then two detached levels) is attached from the
/// bottom while the top is cancelled: the bottom always ends done with the
/// top's error and cause (pushed, or taken when its attachment was
/// refused), and nothing stays registered anywhere.
#[test]
fn loom_attach_chain_races_cancel() {
    model(|| {
        let top = root();
        let mid = detached_child_of(Some(&top));
        let low = detached_child_of(Some(&mid));
        let pc = cause("top");
        let (t1, pc1) = (top.clone(), pc.clone());
        let t = loom::thread::spawn(move || {
            tree::cancel(&*t1, Error::DeadlineExceeded, Some(pc1));
        });
        tree::attach(&low);
        t.join().unwrap();
        // Whatever the order, the bottom reports the top's cancellation.
        assert_eq!(tree::err_of(&*low), Some(Error::DeadlineExceeded));
        assert!(StdArc::ptr_eq(&tree::cause_of(&*low).unwrap(), &pc));
        // Attached or refused: its own node is done (a waiter registered
        // on it would have been woken, or refused).
        assert_eq!(low.node().err(), Some(Error::DeadlineExceeded));
        for m in [&top, &mid, &low] {
            assert_eq!(m.node().registrations(), 0);
        }
    });
}

/// A detached child cancelled on its own while its parent is cancelled:
/// whichever comes first decides its error and cause, and the answers of
/// `err_of` and `cause_of` agree with each other.
#[test]
fn loom_detached_child_cancel_races_parent() {
    model(|| {
        let parent = root();
        let child = detached_child_of(Some(&parent));
        let (pc, cc) = (cause("parent"), cause("child"));
        let (c1, cc1) = (child.clone(), cc.clone());
        let t = loom::thread::spawn(move || {
            tree::cancel(&*c1, Error::Canceled, Some(cc1));
        });
        tree::cancel(&*parent, Error::DeadlineExceeded, Some(pc.clone()));
        t.join().unwrap();
        let err = tree::err_of(&*child).unwrap();
        let got = tree::cause_of(&*child).unwrap();
        if err == Error::DeadlineExceeded {
            assert!(
                StdArc::ptr_eq(&got, &pc),
                "the parent's error with the child's cause"
            );
        } else {
            assert!(
                StdArc::ptr_eq(&got, &cc),
                "the child's error with the parent's cause"
            );
        }
        assert_eq!(parent.node().registrations(), 0);
    });
}
