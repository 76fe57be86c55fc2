//! Go's `test/chan/powser1.go` (and `powser2.go`, the same program with
//! interface values): Doug McIlroy's power series as networks of
//! demand-driven goroutines ("Squinting at Power Series"). A series is a
//! pair of unbuffered channels: a reader sends a request on `req` and then
//! receives the next coefficient on `dat`. Every operator is a goroutine,
//! `Mul` and `Exp` build their networks recursively and lazily, `split`
//! hands each coefficient to two readers through a chain of goroutine
//! generations that swap their outputs, and `get2` asks two series at once
//! with a `select` over sends and receives whose arms come and go (Go's nil
//! channels; here `None` arms).
//!
//! What it checks: a few thousand goroutines that only ever block on
//! unbuffered channels and selects compute the right coefficients, on one
//! worker and on two. Like Go's `main`, the test ends with most goroutines
//! still parked (the generators run forever); the runtime is dropped,
//! which leaks them (see `Runtime`'s docs).
//!
//! Ported: the operators the Go test checks (`Rep`, `Add`, `Cmul`, `Sub`,
//! `Mul`, `Diff`, `Integ`, `Exp`, `MonSubst`, `split`). Not ported: the ones
//! only its print mode or its commented-out `Tan` check use (`Monmul`,
//! `Mon`, `Shift`, `Binom`, `Recip`, `Subst`, the printers).
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use baton::chan::{rendezvous, Receiver, Sender};
use baton::runtime::Builder;
use baton::select;

/// A rational `num/den` in lowest terms; `den == 0` marks the end of a
/// series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rat {
    num: i64,
    den: i64,
}

fn gcd(u: i64, v: i64) -> i64 {
    if u < 0 {
        return gcd(-u, v);
    }
    if u == 0 {
        return v;
    }
    gcd(v % u, u)
}

fn i2tor(u: i64, v: i64) -> Rat {
    let g = gcd(u, v);
    if v > 0 {
        Rat {
            num: u / g,
            den: v / g,
        }
    } else {
        Rat {
            num: -u / g,
            den: -v / g,
        }
    }
}

fn itor(u: i64) -> Rat {
    i2tor(u, 1)
}

const ZERO: Rat = Rat { num: 0, den: 1 };
const ONE: Rat = Rat { num: 1, den: 1 };
/// `i2tor(1, 0)`, as Go's `finis`.
const FINIS: Rat = Rat { num: -1, den: 0 };

fn end(u: Rat) -> i64 {
    i64::from(u.den == 0)
}

fn add(u: Rat, v: Rat) -> Rat {
    let g = gcd(u.den, v.den);
    i2tor(
        u.num * (v.den / g) + v.num * (u.den / g),
        u.den * (v.den / g),
    )
}

fn mul(u: Rat, v: Rat) -> Rat {
    let g1 = gcd(u.num, v.den);
    let g2 = gcd(u.den, v.num);
    Rat {
        num: (u.num / g1) * (v.num / g2),
        den: (u.den / g2) * (v.den / g1),
    }
}

fn neg(u: Rat) -> Rat {
    i2tor(-u.num, u.den)
}

/// A demand channel: both ends of `req` and of `dat` (Go's channels are
/// bidirectional values; here each holder keeps both ends).
#[derive(Clone)]
struct Dch {
    req_tx: Sender<i64>,
    req_rx: Receiver<i64>,
    dat_tx: Sender<Rat>,
    dat_rx: Receiver<Rat>,
}

fn mkdch() -> Dch {
    let (req_tx, req_rx) = rendezvous();
    let (dat_tx, dat_rx) = rendezvous();
    Dch {
        req_tx,
        req_rx,
        dat_tx,
        dat_rx,
    }
}

/// Go's `*dch2`: the two outputs of a split, shared (and swapped) by all
/// of its generations.
type Dch2 = Arc<Mutex<[Dch; 2]>>;

fn mkdch2() -> Dch2 {
    Arc::new(Mutex::new([mkdch(), mkdch()]))
}

fn out_of(d: &Dch2, i: usize) -> Dch {
    d.lock().unwrap()[i].clone()
}

/// Go's global `seqno`, the value sent with each request.
static SEQNO: AtomicI64 = AtomicI64::new(0);

fn next_seqno() -> i64 {
    SEQNO.fetch_add(1, Relaxed) + 1
}

/// Goroutines of this test that panicked (an `unwrap` on a channel that
/// closed, a wrong coefficient): the test fails if any did, though nobody
/// joins them.
static PANICKED: AtomicUsize = AtomicUsize::new(0);

struct CountPanic;

impl Drop for CountPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            PANICKED.fetch_add(1, Relaxed);
        }
    }
}

/// Go's `go f()`: detached, and counted if it panics.
fn go(f: impl FnOnce() + Send + 'static) {
    drop(baton::go(move || {
        let _count = CountPanic;
        f()
    }));
}

/// Starts an operator's goroutine with its own handle on the output `z`.
/// The handle goes in as an argument: a `move` closure that used only
/// `z.req_rx` and `z.dat_tx` would capture just those two fields, and once
/// the reader dropped its copy the request channel would have no sender
/// left and close (Go's channels have no ends to drop).
fn serve(z: &Dch, f: impl FnOnce(Dch) + Send + 'static) {
    let zz = z.clone();
    go(move || f(zz));
}

/// One generation of `split` (see Go's comment): the newest serves
/// requests on `out[0]`, the oldest on `out[1]`; `wait` says the next older
/// generation has served `out[1]`.
fn dosplit(input: Dch, out: Dch2, wait: Receiver<i64>) {
    let (o0, o1) = (out_of(&out, 0), out_of(&out, 1));
    let mut both = false; // do not serve both outputs
    let swap = select! {
        recv(o0.req_rx) -> r => { r.unwrap(); false }
        recv(wait) -> r => {
            r.unwrap();
            both = true;
            select! {
                recv(o0.req_rx) -> r => { r.unwrap(); false }
                recv(o1.req_rx) -> r => { r.unwrap(); true }
            }
        }
    };
    if swap {
        out.lock().unwrap().swap(0, 1);
    }
    input.req_tx.send(next_seqno()).unwrap();
    let (release_tx, release_rx) = rendezvous();
    {
        let (input, out) = (input.clone(), out.clone());
        go(move || dosplit(input, out, release_rx));
    }
    let dat = input.dat_rx.recv().unwrap();
    out_of(&out, 0).dat_tx.send(dat).unwrap();
    if !both {
        wait.recv().unwrap();
    }
    let o1 = out_of(&out, 1);
    o1.req_rx.recv().unwrap();
    o1.dat_tx.send(dat).unwrap();
    release_tx.send(0).unwrap();
}

fn split(input: Dch, out: Dch2) {
    let (release_tx, release_rx) = rendezvous();
    go(move || dosplit(input, out, release_rx));
    release_tx.send(0).unwrap();
}

fn put(dat: Rat, out: &Dch) {
    out.req_rx.recv().unwrap();
    out.dat_tx.send(dat).unwrap();
}

fn get(input: &Dch) -> Rat {
    input.req_tx.send(next_seqno()).unwrap();
    input.dat_rx.recv().unwrap()
}

/// One item from each of two demand channels, requesting and reading in
/// whatever order they become ready (Go's `getn` with nil-channel arms).
fn get2(in0: &Dch, in1: &Dch) -> [Rat; 2] {
    enum Step {
        Asked(usize),
        Got(usize, Rat),
    }
    let mut req = [Some(&in0.req_tx), Some(&in1.req_tx)];
    let mut dat: [Option<&Receiver<Rat>>; 2] = [None, None];
    let mut out = [ZERO; 2];
    for _ in 0..4 {
        let seq = next_seqno();
        let step = select! {
            send(req[0], seq) -> r => { r.unwrap(); Step::Asked(0) }
            send(req[1], seq) -> r => { r.unwrap(); Step::Asked(1) }
            recv(dat[0]) -> v => Step::Got(0, v.unwrap()),
            recv(dat[1]) -> v => Step::Got(1, v.unwrap()),
        };
        match step {
            Step::Asked(i) => {
                dat[i] = Some(if i == 0 { &in0.dat_rx } else { &in1.dat_rx });
                req[i] = None;
            }
            Step::Got(i, v) => {
                out[i] = v;
                dat[i] = None;
            }
        }
    }
    out
}

fn copy(input: &Dch, out: &Dch) -> ! {
    loop {
        out.req_rx.recv().unwrap();
        out.dat_tx.send(get(input)).unwrap();
    }
}

fn rep(c: Rat) -> Dch {
    let z = mkdch();
    serve(&z, move |out| loop {
        put(c, &out)
    });
    z
}

fn split_ps(u: Dch) -> Dch2 {
    let uu = mkdch2();
    let out = uu.clone();
    go(move || split(u, out));
    uu
}

fn add_ps(u: Dch, v: Dch) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| loop {
        zz.req_rx.recv().unwrap();
        let uv = get2(&u, &v);
        match end(uv[0]) + 2 * end(uv[1]) {
            0 => zz.dat_tx.send(add(uv[0], uv[1])).unwrap(),
            1 => {
                zz.dat_tx.send(uv[1]).unwrap();
                copy(&v, &zz)
            }
            2 => {
                zz.dat_tx.send(uv[0]).unwrap();
                copy(&u, &zz)
            }
            _ => zz.dat_tx.send(FINIS).unwrap(),
        }
    });
    z
}

fn cmul(c: Rat, u: Dch) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| {
        loop {
            zz.req_rx.recv().unwrap();
            let x = get(&u);
            if end(x) != 0 {
                break;
            }
            zz.dat_tx.send(mul(c, x)).unwrap();
        }
        zz.dat_tx.send(FINIS).unwrap();
    });
    z
}

fn sub_ps(u: Dch, v: Dch) -> Dch {
    add_ps(u, cmul(neg(ONE), v))
}

/// `U = u + x*UU`, `V = v + x*VV`: `UV = u*v + x*(u*VV + v*UU) + x*x*UU*VV`.
fn mul_ps(u: Dch, v: Dch) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| {
        zz.req_rx.recv().unwrap();
        let uv = get2(&u, &v);
        if end(uv[0]) != 0 || end(uv[1]) != 0 {
            zz.dat_tx.send(FINIS).unwrap();
            return;
        }
        zz.dat_tx.send(mul(uv[0], uv[1])).unwrap();
        let uu = split_ps(u);
        let vv = split_ps(v);
        let w = add_ps(cmul(uv[0], out_of(&vv, 0)), cmul(uv[1], out_of(&uu, 0)));
        zz.req_rx.recv().unwrap();
        zz.dat_tx.send(get(&w)).unwrap();
        copy(&add_ps(w, mul_ps(out_of(&uu, 1), out_of(&vv, 1))), &zz)
    });
    z
}

fn diff(u: Dch) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| {
        zz.req_rx.recv().unwrap();
        if end(get(&u)) == 0 {
            for i in 1.. {
                let x = get(&u);
                if end(x) != 0 {
                    break;
                }
                zz.dat_tx.send(mul(itor(i), x)).unwrap();
                zz.req_rx.recv().unwrap();
            }
        }
        zz.dat_tx.send(FINIS).unwrap();
    });
    z
}

/// Integrates, with constant of integration `c`.
fn integ(c: Rat, u: Dch) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| {
        put(c, &zz);
        for i in 1.. {
            zz.req_rx.recv().unwrap();
            let x = get(&u);
            zz.dat_tx.send(mul(i2tor(1, i), x)).unwrap();
            if end(x) != 0 {
                break;
            }
        }
        zz.dat_tx.send(FINIS).unwrap();
    });
    z
}

/// `Z = exp(U)`: `DZ = Z*DU`, integrated (the constant term of `U` is
/// ignored, as in Go).
fn exp(u: Dch) -> Dch {
    let zz = mkdch2();
    split(integ(ONE, mul_ps(out_of(&zz, 0), diff(u))), zz.clone());
    out_of(&zz, 1)
}

/// `U(c0 x^n)`: each coefficient times `c0^i`, followed by `n-1` zeros.
fn mon_subst(u: Dch, c0: Rat, n: usize) -> Dch {
    let z = mkdch();
    serve(&z, move |zz| {
        let mut c = ONE;
        loop {
            zz.req_rx.recv().unwrap();
            let x = get(&u);
            zz.dat_tx.send(mul(x, c)).unwrap();
            c = mul(c, c0);
            if end(x) != 0 {
                zz.dat_tx.send(FINIS).unwrap();
                break;
            }
            for _ in 1..n {
                zz.req_rx.recv().unwrap();
                zz.dat_tx.send(ZERO).unwrap();
            }
        }
    });
    z
}

fn check(u: &Dch, c: Rat, count: usize, what: &str) {
    for i in 0..count {
        let r = get(u);
        assert_eq!(r, c, "{what}: term {i}");
    }
}

const N: usize = 10;

fn checka(u: &Dch, a: &[Rat; N], what: &str) {
    for (i, &c) in a.iter().enumerate() {
        assert_eq!(get(u), c, "{what}: term {i}");
    }
}

/// Go's `main` in test mode.
fn body() {
    let ones = rep(ONE);
    let twos = rep(itor(2));
    check(&ones, ONE, 5, "Ones");
    check(
        &add_ps(ones.clone(), ones.clone()),
        itor(2),
        0,
        "Add Ones Ones",
    );
    check(
        &add_ps(ones.clone(), twos.clone()),
        itor(3),
        0,
        "Add Ones Twos",
    );

    let mut a = [ZERO; N];
    for (i, x) in a.iter_mut().enumerate() {
        *x = itor(i as i64 + 1);
    }
    checka(&diff(ones.clone()), &a, "Diff"); // 1 2 3 4 5

    a[0] = ZERO; // integration constant
    for (i, x) in a.iter_mut().enumerate().skip(1) {
        *x = i2tor(1, i as i64);
    }
    checka(&integ(ZERO, ones.clone()), &a, "Integ"); // 0 1 1/2 1/3 1/4
    check(&cmul(neg(ONE), twos.clone()), itor(-2), 10, "CMul");
    check(
        &sub_ps(ones.clone(), twos.clone()),
        itor(-1),
        0,
        "Sub Ones Twos",
    );

    for (i, x) in a.iter_mut().enumerate() {
        *x = itor(i as i64 + 1);
    }
    checka(&mul_ps(ones.clone(), ones.clone()), &a, "Mul"); // 1 2 3 4 5

    let e = [
        itor(1),
        itor(1),
        i2tor(3, 2),
        i2tor(13, 6),
        i2tor(73, 24),
        i2tor(167, 40),
        i2tor(4051, 720),
        i2tor(37633, 5040),
        i2tor(43817, 4480),
        i2tor(4596553, 362880),
    ];
    checka(&exp(ones.clone()), &e, "Exp"); // 1 1 3/2 13/6 73/24

    let mut c = 1;
    for (i, x) in a.iter_mut().enumerate() {
        if i % 2 == 0 {
            *x = ZERO;
        } else {
            *x = i2tor(c, i as i64);
            c = -c;
        }
    }
    checka(&integ(ZERO, mon_subst(ones, neg(ONE), 2)), &a, "ATan"); // 0 1 0 -1/3 0 1/5
    assert_eq!(PANICKED.load(Relaxed), 0, "goroutines panicked (see above)");
}

fn on(workers: usize) {
    common::within(&format!("powser on {workers} worker(s)"), 60, move || {
        let rt = Builder::new().workers(workers).build();
        rt.run(body);
        // Dropping `rt` leaks the generators still parked, as Go's exit
        // abandons them.
    });
}

#[test]
fn powser_on_one_worker() {
    on(1);
}

#[test]
fn powser_on_two_workers() {
    on(2);
}

#[test]
fn rationals() {
    assert_eq!(i2tor(2, 4), Rat { num: 1, den: 2 });
    assert_eq!(i2tor(2, -4), Rat { num: -1, den: 2 });
    assert_eq!(add(i2tor(1, 2), i2tor(1, 3)), i2tor(5, 6));
    assert_eq!(mul(i2tor(2, 3), i2tor(3, 4)), i2tor(1, 2));
    assert_eq!(end(FINIS), 1);
    assert_eq!(i2tor(1, 0), FINIS);
}
