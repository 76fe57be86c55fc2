//! The [`select!`](crate::select!) macro: parsing arms into a list, then
//! building a [`Select`](super::Select) and dispatching on the chosen index.

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
/// - Among ready arms, one is chosen uniformly at random.
/// - `value` is evaluated only if its send arm is chosen.
/// - `rx`/`tx` may be `&Receiver<T>`/`&Sender<T>`, or an
///   `Option<&Receiver<T>>`/`Option<&Sender<T>>`: `None` disables the arm
///   (Go's nil channel).
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
    (@list $list:tt @ids $ids:tt @default $def:tt @rest ()) => {
        $crate::__select_gen!(@list $list @default $def)
    };
    // Out of identifiers.
    (@list $list:tt @ids () @default $def:tt @rest $rest:tt) => {
        ::core::compile_error!("select! supports at most 32 arms")
    };
    // recv arms.
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr) -> $res:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (recv $id [$r] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr) -> $res:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (recv $id [$r] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr) -> $res:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (recv $id [$r] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (recv($r:expr) -> $res:pat => $body:expr)) => {
        $crate::__select_parse!(@list ($($list)* (recv $id [$r] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ())
    };
    // send arms.
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr) -> $res:pat => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (send $id [$s] [$v] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr) -> $res:pat => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (send $id [$s] [$v] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr) -> $res:pat => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@list ($($list)* (send $id [$s] [$v] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ($($rest)*))
    };
    (@list ($($list:tt)*) @ids ($id:ident $($ids:tt)*) @default $def:tt
     @rest (send($s:expr, $v:expr) -> $res:pat => $body:expr)) => {
        $crate::__select_parse!(@list ($($list)* (send $id [$s] [$v] [$res] [$body])) @ids ($($ids)*)
            @default $def @rest ())
    };
    // default arms (at most one).
    (@list $list:tt @ids $ids:tt @default ($($old:tt)+) @rest (default $($rest:tt)*)) => {
        ::core::compile_error!("select! has more than one default arm")
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (now [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default => $body:expr)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (now [$body]) @rest ())
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default($t:expr) => $body:block, $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default($t:expr) => $body:block $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default($t:expr) => $body:expr, $($rest:tt)*)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (timeout [$t] [$body]) @rest ($($rest)*))
    };
    (@list $list:tt @ids $ids:tt @default () @rest (default($t:expr) => $body:expr)) => {
        $crate::__select_parse!(@list $list @ids $ids @default (timeout [$t] [$body]) @rest ())
    };
    (@list $list:tt @ids $ids:tt @default $def:tt @rest ($($rest:tt)*)) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `recv(rx) -> res => body`, `send(tx, value) -> res => body`, ",
            "`default => body` or `default(timeout) => body`, found: ",
            ::core::stringify!($($rest)*)
        ))
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_gen {
    (@list ($($arm:tt)*) @default ()) => {{
        let mut __sel = $crate::chan::Select::new();
        $crate::__select_register!(__sel; $($arm)*);
        let __op = __sel.select();
        #[allow(unused_variables)]
        let __i = __op.index();
        $crate::__select_dispatch!(__op, __i; $($arm)*)
    }};
    (@list ($($arm:tt)*) @default (now [$body:expr])) => {{
        let mut __sel = $crate::chan::Select::new();
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
    (@list ($($arm:tt)*) @default (timeout [$t:expr] [$body:expr])) => {{
        let mut __sel = $crate::chan::Select::new();
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

#[doc(hidden)]
#[macro_export]
macro_rules! __select_register {
    ($sel:ident;) => {};
    ($sel:ident; (recv $id:ident [$r:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        // `let x = &expr;` keeps a temporary receiver (`time::after(d)`)
        // alive to the end of the select.
        let __place = &$r;
        let $id = {
            let __arm = $crate::chan::__private::recv_arm(__place);
            (__arm, $sel.recv_opt(__arm))
        };
        $crate::__select_register!($sel; $($rest)*);
    };
    ($sel:ident; (send $id:ident [$s:expr] [$v:expr] [$res:pat] [$body:expr]) $($rest:tt)*) => {
        let __place = &$s;
        let $id = {
            let __arm = $crate::chan::__private::send_arm(__place);
            (__arm, $sel.send_opt(__arm))
        };
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
            let $res = $op.send($id.0.expect("a disabled arm is never chosen"), $v);
            $body
        } else {
            $crate::__select_dispatch!($op, $i; $($rest)*)
        }
    };
}
