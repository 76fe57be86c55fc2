//! The [`select!`](crate::select!) and
//! [`select_biased!`](crate::select_biased!) macros: parsing arms into a
//! list, binding each arm's channel and value in a `match` of its own (so
//! that temporaries in arm expressions live to the end of the select, as in
//! crossbeam's macro), then building a [`Select`](super::Select) and
//! dispatching on the chosen index.

/// Waits on several channel operations and runs the arm of the one that
/// completes — Go's `select` statement.
///
/// ```text
/// select! {
///     recv(rx) -> res => body,          // res: Result<T, RecvError>
///     send(tx, value) -> res => body,   // res: Result<(), SendError<T>>
///     default => body,                  // if nothing is ready now
///     // or: default(duration) => body, // if nothing got ready in time
/// }
/// ```
///
/// - Among ready arms, one is chosen uniformly at random
///   ([`select_biased!`](crate::select_biased!): the first ready one).
/// - As in Go, every `rx`, `tx` and `value` expression is evaluated once,
///   in source order, **before** selecting; the values of send arms not
///   chosen are dropped. (crossbeam evaluates `value` only for the chosen
///   arm; baton follows Go, so that a panic in `value` happens before any
///   slot is claimed and cannot break the channel.)
/// - `rx`/`tx` may be a `Receiver<T>`/`Sender<T>` place, a reference to one
///   (any number of `&`), anything that derefs to one (`Arc<Receiver<T>>`,
///   `&Box<Sender<T>>`), or an `Option<&Receiver<T>>`/`Option<Receiver<T>>`
///   (and the same for senders): `None` disables the arm (Go's nil
///   channel). Temporaries in these expressions live until the select ends
///   (`recv(r.unwrap_or(&never()))`).
/// - Arms may end with a trailing comma inside the parentheses
///   (`recv(rx,)`, `send(tx, v,)`).
/// - An arm on a closed channel is ready (its `res` is an error).
/// - With no `default`, it waits (parking the goroutine or thread).
/// - Up to 32 arms; the whole macro is an expression whose value is the
///   chosen arm's.
///
/// ```
/// use baton::chan::{bounded, unbounded};
/// use baton::select;
/// use std::time::Duration;
///
/// let (tx1, rx1) = unbounded::<i32>();
/// let (tx2, rx2) = bounded::<&str>(1);
/// tx1.send(10).unwrap();
///
/// let got = select! {
///     recv(rx1) -> v => v.unwrap(),
///     send(tx2, "hello") -> res => { res.unwrap(); 0 }
/// };
/// // Both were ready; whichever ran, the other's value stayed where it was.
/// if got == 10 {
///     assert!(rx2.try_recv().is_err());
/// } else {
///     assert_eq!(rx2.recv(), Ok("hello"));
///     assert_eq!(rx1.recv(), Ok(10));
/// }
///
/// // Switching an arm off, and a timeout.
/// let off: Option<&baton::chan::Receiver<i32>> = None;
/// let r = select! {
///     recv(off) -> _ => "impossible",
///     default(Duration::from_millis(5)) => "timed out",
/// };
/// assert_eq!(r, "timed out");
///
/// // Non-blocking.
/// let r = select! {
///     recv(rx1) -> _ => "value",
///     default => "nothing ready",
/// };
/// assert_eq!(r, "nothing ready");
/// # drop((tx1, tx2));
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            @ctor new
            @list ()
            @ids (__a0 __a1 __a2 __a3 __a4 __a5 __a6 __a7 __a8 __a9 __a10 __a11 __a12 __a13
                  __a14 __a15 __a16 __a17 __a18 __a19 __a20 __a21 __a22 __a23 __a24 __a25
                  __a26 __a27 __a28 __a29 __a30 __a31)
            @default ()
            @rest ($($tokens)*)
        )
    };
}

/// [`select!`](crate::select!) without the random choice: when several
/// arms are ready, the first one in source order runs (crossbeam's and
/// tokio's `select_biased!`; Go has no such form). Later arms can starve
/// while an earlier one stays ready; use it for priorities, such as a
/// cancellation channel checked before work.
///
/// ```
/// use baton::chan::unbounded;
///
/// let (stop_tx, stop) = unbounded::<()>();
/// let (work_tx, work) = unbounded::<i32>();
/// work_tx.send(1).unwrap();
/// stop_tx.send(()).unwrap();
/// let r = baton::select_biased! {
///     recv(stop) -> _ => "stopped",
///     recv(work) -> _ => "worked",
/// };
/// assert_eq!(r, "stopped"); // both ready: the first arm wins, always
/// # drop((stop_tx, work_tx));
/// ```
#[macro_export]
macro_rules! select_biased {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            @ctor new_biased
            @list ()
            @ids (__a0 __a1 __a2 __a3 __a4 __a5 __a6 __a7 __a8 __a9 __a10 __a11 __a12 __a13
                  __a14 __a15 __a16 __a17 __a18 __a19 __a20 __a21 __a22 __a23 __a24 __a25
                  __a26 __a27 __a28 __a29 __a30 __a31)
            @default ()
            @rest ($($tokens)*)
        )
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // Done.
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default $def:tt @rest ()) => {
        $crate::__select_gen!(@ctor $c @list $list @default $def)
    };
    // Out of identifiers.
    (@ctor $c:ident @list $list:tt @ids () @default $def:tt @rest $rest:tt) => {
        ::core::compile_error!("select! supports at most 32 arms")
    };
    // recv arms.
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (recv $id [$r] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (recv $id [$r] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (recv $id [$r] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr $(,)?) -> $res:pat => $body:expr)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (recv $id [$r] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ())
    };
    // send arms.
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr $(,)?) -> $res:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (send $id [$s] [$v] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr $(,)?) -> $res:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (send $id [$s] [$v] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (send $id [$s] [$v] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ($($rest)*))
    };
    (@ctor $c:ident @list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr $(,)?) -> $res:pat => $body:expr)) => {
        $crate::__select_parse!(@ctor $c @list ($($list)* (send $id [$s] [$v] [$res] [$body]))
            @ids ($($ids)*) @default $def @rest ())
    };
    // default arms (at most one).
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default ($($old:tt)+) @rest (default $($rest:tt)*)) => {
        ::core::compile_error!("select! has more than one default arm")
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default () @rest (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default () @rest (default => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default () @rest (default => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default () @rest (default => $body:expr)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (now [$body]) @rest ())
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default ()
     @rest (default($t:expr $(,)?) => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default ()
     @rest (default($t:expr $(,)?) => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default ()
     @rest (default($t:expr $(,)?) => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default ()
     @rest (default($t:expr $(,)?) => $body:expr)) => {
        $crate::__select_parse!(@ctor $c @list $list @ids $ids @default (timeout [$t] [$body]) @rest ())
    };
    (@ctor $c:ident @list $list:tt @ids $ids:tt @default $def:tt @rest ($($rest:tt)*)) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> res => body`, `send(tx, value) -> res => body`, ",
            "`default => body` or `default(timeout) => body`, found: ",
            ::core::stringify!($($rest)*)
        ))
    };
}

/// Binds every arm's channel (and value) in source order, each in a
/// `match` whose scrutinee's temporaries live to the end of the select,
/// then hands over to `__select_run`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    (@ctor $c:ident @list ($($arm:tt)*) @default $def:tt) => {
        $crate::__select_bind!(@ctor $c @default $def @all ($($arm)*) @todo ($($arm)*))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_bind {
    (@ctor $c:ident @default $def:tt @all $all:tt @todo ()) => {
        $crate::__select_run!(@ctor $c @default $def @all $all)
    };
    (@ctor $c:ident @default $def:tt @all $all:tt
     @todo ((recv $id:ident [$r:expr] [$res:pat] [$body:expr]) $($rest:tt)*)) => {
        match &$r {
            __place => {
                let $id = {
                    // A method call, so that auto-deref reaches the
                    // receiver through any `&`s and `Deref`s.
                    #[allow(unused_imports)]
                    use $crate::chan::__private::RecvArm as _;
                    (__place.__baton_recv_arm(),)
                };
                $crate::__select_bind!(@ctor $c @default $def @all $all @todo ($($rest)*))
            }
        }
    };
    (@ctor $c:ident @default $def:tt @all $all:tt
     @todo ((send $id:ident [$s:expr] [$v:expr] [$res:pat] [$body:expr]) $($rest:tt)*)) => {
        match &$s {
            __place => {
                let $id = {
                    #[allow(unused_imports)]
                    use $crate::chan::__private::SendArm as _;
                    (__place.__baton_send_arm(),)
                };
                // Go: the value is evaluated before selecting, after its
                // channel and the earlier arms.
                let $id = ($id.0, $v);
                $crate::__select_bind!(@ctor $c @default $def @all $all @todo ($($rest)*))
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_run {
    (@ctor $c:ident @default () @all ($($arm:tt)*)) => {{
        let mut __sel = $crate::chan::Select::$c();
        $crate::__select_register!(__sel; $($arm)*);
        let __op = __sel.select();
        #[allow(unused_variables)]
        let __i = __op.index();
        $crate::__select_dispatch!(__op, __i; $($arm)*)
    }};
    (@ctor $c:ident @default (now [$body:expr]) @all ($($arm:tt)*)) => {{
        let mut __sel = $crate::chan::Select::$c();
        $crate::__select_register!(__sel; $($arm)*);
        // A local, not a temporary of the match: a temporary in the tail
        // of this block would outlive the receivers it borrows.
        let __res = __sel.try_select();
        match __res {
            ::core::result::Result::Ok(__op) => {
                #[allow(unused_variables)]
                let __i = __op.index();
                $crate::__select_dispatch!(__op, __i; $($arm)*)
            }
            ::core::result::Result::Err(_) => $body,
        }
    }};
    (@ctor $c:ident @default (timeout [$t:expr] [$body:expr]) @all ($($arm:tt)*)) => {{
        let mut __sel = $crate::chan::Select::$c();
        $crate::__select_register!(__sel; $($arm)*);
        let __res = __sel.select_timeout($t);
        match __res {
            ::core::result::Result::Ok(__op) => {
                #[allow(unused_variables)]
                let __i = __op.index();
                $crate::__select_dispatch!(__op, __i; $($arm)*)
            }
            ::core::result::Result::Err(_) => $body,
        }
    }};
}

/// Adds each bound arm to the select, in source order; an arm's binding
/// becomes `(handle, index)` (recv) or `(handle, index, value)` (send).
#[doc(hidden)]
#[macro_export]
macro_rules! __select_register {
    ($sel:ident;) => {};
    ($sel:ident; (recv $id:ident [$r:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        let $id = ($id.0, $sel.recv_opt($id.0));
        $crate::__select_register!($sel; $($rest)*);
    };
    ($sel:ident; (send $id:ident [$s:expr] [$v:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        let $id = ($id.0, $sel.send_opt($id.0), $id.1);
        $crate::__select_register!($sel; $($rest)*);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_dispatch {
    ($op:ident, $i:ident;) => {{
        ::core::mem::forget($op);
        ::core::unreachable!("select! chose an operation it does not have")
    }};
    ($op:ident, $i:ident; (recv $id:ident [$r:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        if $i == $id.1 {
            let $res = $op.recv($id.0.expect("a disabled arm is never chosen"));
            $body
        } else {
            $crate::__select_dispatch!($op, $i; $($rest)*)
        }
    };
    ($op:ident, $i:ident; (send $id:ident [$s:expr] [$v:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        if $i == $id.1 {
            let $res = $op.send($id.0.expect("a disabled arm is never chosen"), $id.2);
            $body
        } else {
            $crate::__select_dispatch!($op, $i; $($rest)*)
        }
    };
}
