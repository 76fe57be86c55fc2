//! The pointer types of epoch reclamation: [`Atomic`], [`Owned`], [`Shared`].
//!
//! They follow crossbeam-epoch's shape, kept small (no tag bits):
//!
//! | type | what it is | who may dereference it |
//! |---|---|---|
//! | [`Owned<T>`] | a `Box<T>` not yet shared | its owner, safely |
//! | [`Shared<'g, T>`] | a pointer loaded from an [`Atomic`] while a [`Guard`] is alive | anyone holding the guard `'g`, `unsafe` (the caller vouches the pointee was not retired before the load) |
//! | [`Atomic<T>`] | the shared location, an `AtomicPtr<T>` | nobody: load a [`Shared`] from it |
//!
//! The lifetime `'g` on [`Shared`] is the point of the design: a pointer
//! loaded under a guard cannot outlive the guard, so it cannot be used after
//! the thread unpins and the pointee may be freed.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};

use super::Guard;
use crate::shim::atomic::{AtomicPtr, Ordering};

/// A pointer type that can be stored into an [`Atomic`]: [`Owned`] or
/// [`Shared`]. Sealed: baton implements it for those two only.
pub trait Pointer<T>: sealed::Sealed {
    /// Gives up the pointer as a raw pointer (ownership, if any, moves to
    /// whoever stores it).
    #[doc(hidden)]
    fn into_raw_ptr(self) -> *mut T;

    /// Takes back a pointer given up by [`into_raw_ptr`](Pointer::into_raw_ptr).
    ///
    /// # Safety
    ///
    /// `raw` must come from `into_raw_ptr` of the same type, and (for
    /// [`Owned`]) not have been stored anywhere since.
    #[doc(hidden)]
    unsafe fn from_raw_ptr(raw: *mut T) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::Owned<T> {}
    impl<T> Sealed for super::Shared<'_, T> {}
}

/// An owned heap allocation, like `Box<T>`, that can be published into an
/// [`Atomic`].
///
/// ```
/// use baton::epoch::{self, Atomic, Owned};
/// use std::sync::atomic::Ordering;
///
/// let mut o = Owned::new(1);
/// *o += 1;
/// let a = Atomic::null();
/// a.store(o, Ordering::Release);
/// let guard = epoch::pin();
/// // SAFETY: nothing retires the value while `guard` is alive.
/// assert_eq!(unsafe { a.load(Ordering::Acquire, &guard).deref() }, &2);
/// // SAFETY: we own `a` and nobody else can reach the value.
/// drop(unsafe { a.into_owned() });
/// ```
pub struct Owned<T> {
    ptr: NonNull<T>,
    _owns: PhantomData<Box<T>>,
}

// SAFETY: `Owned<T>` is a `Box<T>`; it is Send/Sync exactly when a box is.
unsafe impl<T: Send> Send for Owned<T> {}
// SAFETY: as above; `&Owned<T>` only gives `&T`.
unsafe impl<T: Sync> Sync for Owned<T> {}

impl<T> Owned<T> {
    /// Moves `value` to the heap.
    ///
    /// ```
    /// let o = baton::epoch::Owned::new(String::from("x"));
    /// assert_eq!(*o, "x");
    /// ```
    #[inline]
    pub fn new(value: T) -> Self {
        Self::from(Box::new(value))
    }

    /// Publishes the allocation for the duration of `guard`: the result can
    /// be stored into an [`Atomic`] and read by others; ownership now
    /// follows the data structure's protocol (whoever unlinks it retires it).
    ///
    /// ```
    /// use baton::epoch::{self, Owned};
    /// let guard = epoch::pin();
    /// let s = Owned::new(7).into_shared(&guard);
    /// // SAFETY: `s` was never published; we still own it.
    /// assert_eq!(*unsafe { s.into_owned() }, 7);
    /// ```
    #[inline]
    pub fn into_shared(self, _guard: &Guard) -> Shared<'_, T> {
        // SAFETY: `into_raw_ptr` gives a valid pointer to a live allocation.
        unsafe { Shared::from_raw_ptr(self.into_raw_ptr()) }
    }

    /// Back to a `Box<T>`.
    ///
    /// ```
    /// let b: Box<u8> = baton::epoch::Owned::new(3).into_box();
    /// assert_eq!(*b, 3);
    /// ```
    #[inline]
    pub fn into_box(self) -> Box<T> {
        // SAFETY: the pointer came from `Box::into_raw` and we own it.
        unsafe { Box::from_raw(self.into_raw_ptr()) }
    }
}

impl<T> From<Box<T>> for Owned<T> {
    #[inline]
    fn from(b: Box<T>) -> Self {
        Self {
            // SAFETY: `Box::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(Box::into_raw(b)) },
            _owns: PhantomData,
        }
    }
}

impl<T> Pointer<T> for Owned<T> {
    #[inline]
    fn into_raw_ptr(self) -> *mut T {
        let raw = self.ptr.as_ptr();
        core::mem::forget(self);
        raw
    }

    #[inline]
    unsafe fn from_raw_ptr(raw: *mut T) -> Self {
        debug_assert!(!raw.is_null(), "epoch: Owned from a null pointer");
        Self {
            // SAFETY: the caller passes a pointer from `into_raw_ptr`, never null.
            ptr: unsafe { NonNull::new_unchecked(raw) },
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        // SAFETY: we own the allocation, which came from `Box::into_raw`.
        drop(unsafe { Box::from_raw(self.ptr.as_ptr()) });
    }
}

impl<T> Deref for Owned<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: we own a live allocation.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> DerefMut for Owned<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we own a live allocation, exclusively (`&mut self`).
        unsafe { self.ptr.as_mut() }
    }
}

impl<T: fmt::Debug> fmt::Debug for Owned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Owned").field(&**self).finish()
    }
}

/// A pointer loaded from an [`Atomic`] under a [`Guard`]; it cannot outlive
/// the guard (`'g`). Null or not; dereferencing is `unsafe`.
///
/// ```
/// use baton::epoch::{self, Atomic, Shared};
/// use std::sync::atomic::Ordering;
///
/// let a = Atomic::new(5);
/// let guard = epoch::pin();
/// let p = a.load(Ordering::Acquire, &guard);
/// assert!(!p.is_null());
/// // SAFETY: nothing retires the value while `guard` is alive.
/// assert_eq!(unsafe { p.as_ref() }, Some(&5));
/// assert!(Shared::<u32>::null().is_null());
/// # drop(guard);
/// # drop(unsafe { a.into_owned() });
/// ```
pub struct Shared<'g, T> {
    ptr: *const T,
    _guard: PhantomData<(&'g (), *const T)>,
}

impl<T> Clone for Shared<'_, T> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<'_, T> {}

impl<T> PartialEq for Shared<'_, T> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        ptr::eq(self.ptr, other.ptr)
    }
}
impl<T> Eq for Shared<'_, T> {}

impl<'g, T> Shared<'g, T> {
    /// The null pointer.
    ///
    /// ```
    /// assert!(baton::epoch::Shared::<i32>::null().is_null());
    /// ```
    #[inline]
    pub const fn null() -> Self {
        Self {
            ptr: ptr::null(),
            _guard: PhantomData,
        }
    }

    /// Whether the pointer is null.
    ///
    /// ```
    /// assert!(baton::epoch::Shared::<i32>::null().is_null());
    /// ```
    #[inline]
    pub fn is_null(&self) -> bool {
        self.ptr.is_null()
    }

    /// A `Shared` from a raw pointer read out of a node (a data structure's
    /// own link field that is not an [`Atomic`]).
    ///
    /// # Safety
    ///
    /// `raw` is null or points to a live allocation from an [`Owned`] that
    /// the guard `'g` protects (it was reachable when the guard pinned).
    #[inline]
    pub(crate) unsafe fn from_raw(raw: *const T) -> Self {
        Self {
            ptr: raw,
            _guard: PhantomData,
        }
    }

    /// The raw pointer (for comparisons and debugging).
    ///
    /// ```
    /// assert!(baton::epoch::Shared::<i32>::null().as_raw().is_null());
    /// ```
    #[inline]
    pub fn as_raw(&self) -> *const T {
        self.ptr
    }

    /// Dereferences the pointer.
    ///
    /// # Safety
    ///
    /// The pointer must be non-null, and the pointee must not have been
    /// retired (passed to `defer_destroy` or otherwise freed) before the
    /// load that produced this `Shared`; epoch reclamation then keeps it
    /// alive for `'g`.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic};
    /// use std::sync::atomic::Ordering;
    /// let a = Atomic::new(1);
    /// let g = epoch::pin();
    /// // SAFETY: non-null, never retired.
    /// assert_eq!(unsafe { a.load(Ordering::Acquire, &g).deref() }, &1);
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub unsafe fn deref(&self) -> &'g T {
        // SAFETY: the caller guarantees non-null and alive for `'g`.
        unsafe { &*self.ptr }
    }

    /// Dereferences the pointer, or `None` if it is null.
    ///
    /// # Safety
    ///
    /// As for [`deref`](Self::deref), except that null is allowed.
    ///
    /// ```
    /// use baton::epoch::Shared;
    /// // SAFETY: null is allowed.
    /// assert!(unsafe { Shared::<u8>::null().as_ref() }.is_none());
    /// ```
    #[inline]
    pub unsafe fn as_ref(&self) -> Option<&'g T> {
        // SAFETY: the caller guarantees the pointee (if any) is alive for `'g`.
        unsafe { self.ptr.as_ref() }
    }

    /// Takes ownership of the pointee.
    ///
    /// # Safety
    ///
    /// The pointer must be non-null, and nobody else may read or free the
    /// pointee any more: it is unreachable from any [`Atomic`] and no other
    /// thread can still hold it (e.g. it was never published, or the data
    /// structure is being dropped with `&mut` access).
    ///
    /// ```
    /// use baton::epoch::{self, Owned};
    /// let g = epoch::pin();
    /// let s = Owned::new(9).into_shared(&g);
    /// // SAFETY: never published.
    /// assert_eq!(*unsafe { s.into_owned() }, 9);
    /// ```
    #[inline]
    pub unsafe fn into_owned(self) -> Owned<T> {
        // SAFETY: the caller guarantees we are the pointee's only owner.
        unsafe { Owned::from_raw_ptr(self.ptr as *mut T) }
    }
}

impl<T> Pointer<T> for Shared<'_, T> {
    #[inline]
    fn into_raw_ptr(self) -> *mut T {
        self.ptr as *mut T
    }

    #[inline]
    unsafe fn from_raw_ptr(raw: *mut T) -> Self {
        Self {
            ptr: raw,
            _guard: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Shared<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shared").field(&self.ptr).finish()
    }
}

/// The failure of [`Atomic::compare_exchange`]: the value actually found,
/// and the new pointer handed back (so an [`Owned`] is not lost).
pub struct CompareExchangeError<'g, T, P: Pointer<T>> {
    /// The value the location held.
    pub current: Shared<'g, T>,
    /// The pointer that was to be stored, returned to the caller.
    pub new: P,
}

impl<T, P: Pointer<T>> fmt::Debug for CompareExchangeError<'_, T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompareExchangeError")
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// A shared location holding a pointer to a `T` (or null), read under a
/// [`Guard`].
///
/// `Atomic<T>` does not own its pointee: dropping it frees nothing. The data
/// structure that uses it decides who frees what (see
/// [`Guard::defer_destroy`] and [`Atomic::into_owned`]).
///
/// ```
/// use baton::epoch::{self, Atomic, Owned};
/// use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
///
/// let a = Atomic::new(1);
/// let guard = epoch::pin();
/// let old = a.load(Acquire, &guard);
/// let new = Owned::new(2);
/// // Replace 1 with 2; the old value is freed once no guard can see it.
/// let res = a.compare_exchange(old, new, AcqRel, Relaxed, &guard);
/// assert!(res.is_ok());
/// // SAFETY: `old` is unlinked and retired exactly once.
/// unsafe { guard.defer_destroy(old) };
/// // SAFETY: the value 2 is never retired while `guard` is alive.
/// assert_eq!(unsafe { a.load(Acquire, &guard).deref() }, &2);
/// # drop(guard); drop(unsafe { a.into_owned() });
/// ```
pub struct Atomic<T> {
    ptr: AtomicPtr<T>,
    _marker: PhantomData<*mut T>,
}

// SAFETY: an `Atomic<T>` hands out `&T` to other threads (so `T: Sync`) and
// lets other threads take ownership (so `T: Send`); crossbeam's bounds.
unsafe impl<T: Send + Sync> Send for Atomic<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Atomic<T> {}

impl<T> Atomic<T> {
    /// A null pointer.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic};
    /// let a = Atomic::<u8>::null();
    /// assert!(a.load(std::sync::atomic::Ordering::Relaxed, &epoch::pin()).is_null());
    /// ```
    #[inline]
    pub fn null() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _marker: PhantomData,
        }
    }

    /// Moves `value` to the heap and points at it.
    ///
    /// ```
    /// let a = baton::epoch::Atomic::new(5);
    /// // SAFETY: we own `a`; nobody else can reach the value.
    /// assert_eq!(*unsafe { a.into_owned() }, 5);
    /// ```
    #[inline]
    pub fn new(value: T) -> Self {
        Self::from(Owned::new(value))
    }

    /// Loads the pointer; the result lives as long as `guard`.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic};
    /// use std::sync::atomic::Ordering::Acquire;
    /// let a = Atomic::new('x');
    /// let g = epoch::pin();
    /// // SAFETY: never retired.
    /// assert_eq!(unsafe { a.load(Acquire, &g).deref() }, &'x');
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub fn load<'g>(&self, order: Ordering, _guard: &'g Guard) -> Shared<'g, T> {
        // SAFETY: any pointer stored here came from `Pointer::into_raw_ptr`.
        unsafe { Shared::from_raw_ptr(self.ptr.load(order)) }
    }

    /// Stores `new` ([`Owned`] or [`Shared`]); the old pointer is
    /// overwritten, not freed.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic, Owned};
    /// use std::sync::atomic::Ordering::{Acquire, Release};
    /// let a = Atomic::null();
    /// a.store(Owned::new(3), Release);
    /// let g = epoch::pin();
    /// // SAFETY: never retired.
    /// assert_eq!(unsafe { a.load(Acquire, &g).deref() }, &3);
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub fn store<P: Pointer<T>>(&self, new: P, order: Ordering) {
        self.ptr.store(new.into_raw_ptr(), order);
    }

    /// Stores `new` and returns the previous pointer.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic, Owned};
    /// use std::sync::atomic::Ordering::AcqRel;
    /// let a = Atomic::new(1);
    /// let g = epoch::pin();
    /// let old = a.swap(Owned::new(2), AcqRel, &g);
    /// // SAFETY: `old` is unreachable now and retired once.
    /// unsafe { g.defer_destroy(old) };
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub fn swap<'g, P: Pointer<T>>(
        &self,
        new: P,
        order: Ordering,
        _guard: &'g Guard,
    ) -> Shared<'g, T> {
        // SAFETY: any pointer stored here came from `Pointer::into_raw_ptr`.
        unsafe { Shared::from_raw_ptr(self.ptr.swap(new.into_raw_ptr(), order)) }
    }

    /// Stores `new` if the location still holds `current`. On success,
    /// returns `new` as a [`Shared`]; on failure, the value found and `new`
    /// handed back (an [`Owned`] is never lost).
    ///
    /// ```
    /// use baton::epoch::{self, Atomic, Owned, Shared};
    /// use std::sync::atomic::Ordering::{AcqRel, Acquire};
    /// let a = Atomic::<i32>::null();
    /// let g = epoch::pin();
    /// let won = a.compare_exchange(Shared::null(), Owned::new(1), AcqRel, Acquire, &g);
    /// assert!(won.is_ok());
    /// let lost = a.compare_exchange(Shared::null(), Owned::new(2), AcqRel, Acquire, &g);
    /// let err = lost.unwrap_err();
    /// assert_eq!(*err.new, 2); // handed back
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub fn compare_exchange<'g, P: Pointer<T>>(
        &self,
        current: Shared<'_, T>,
        new: P,
        success: Ordering,
        failure: Ordering,
        _guard: &'g Guard,
    ) -> Result<Shared<'g, T>, CompareExchangeError<'g, T, P>> {
        let new = new.into_raw_ptr();
        match self
            .ptr
            .compare_exchange(current.as_raw() as *mut T, new, success, failure)
        {
            // SAFETY: `new` came from `into_raw_ptr` just above.
            Ok(_) => Ok(unsafe { Shared::from_raw_ptr(new) }),
            Err(found) => Err(CompareExchangeError {
                // SAFETY: any pointer stored here came from `into_raw_ptr`.
                current: unsafe { Shared::from_raw_ptr(found) },
                // SAFETY: the store failed, so `new` was stored nowhere.
                new: unsafe { P::from_raw_ptr(new) },
            }),
        }
    }

    /// Like [`compare_exchange`](Self::compare_exchange) but may fail
    /// spuriously; cheaper in a retry loop on some targets.
    ///
    /// ```
    /// use baton::epoch::{self, Atomic, Owned};
    /// use std::sync::atomic::Ordering::{AcqRel, Acquire};
    /// let a = Atomic::new(0);
    /// let g = epoch::pin();
    /// let mut new = Owned::new(1);
    /// loop {
    ///     let cur = a.load(Acquire, &g);
    ///     match a.compare_exchange_weak(cur, new, AcqRel, Acquire, &g) {
    ///         // SAFETY: `cur` is unlinked by our exchange; retired once.
    ///         Ok(_) => { unsafe { g.defer_destroy(cur) }; break; }
    ///         Err(e) => new = e.new,
    ///     }
    /// }
    /// # drop(g);
    /// # // SAFETY: the guard is gone and no other thread holds `a`.
    /// # drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub fn compare_exchange_weak<'g, P: Pointer<T>>(
        &self,
        current: Shared<'_, T>,
        new: P,
        success: Ordering,
        failure: Ordering,
        _guard: &'g Guard,
    ) -> Result<Shared<'g, T>, CompareExchangeError<'g, T, P>> {
        let new = new.into_raw_ptr();
        match self
            .ptr
            .compare_exchange_weak(current.as_raw() as *mut T, new, success, failure)
        {
            // SAFETY: `new` came from `into_raw_ptr` just above.
            Ok(_) => Ok(unsafe { Shared::from_raw_ptr(new) }),
            Err(found) => Err(CompareExchangeError {
                // SAFETY: any pointer stored here came from `into_raw_ptr`.
                current: unsafe { Shared::from_raw_ptr(found) },
                // SAFETY: the store failed, so `new` was stored nowhere.
                new: unsafe { P::from_raw_ptr(new) },
            }),
        }
    }

    /// Takes the pointee out of a location nobody else can reach.
    ///
    /// # Safety
    ///
    /// The pointer must be non-null and no other thread may hold or free the
    /// pointee (typically: called from a data structure's `Drop`).
    ///
    /// ```
    /// let a = baton::epoch::Atomic::new(vec![1, 2]);
    /// // SAFETY: `a` is ours alone and non-null.
    /// assert_eq!(*unsafe { a.into_owned() }, vec![1, 2]);
    /// ```
    #[inline]
    pub unsafe fn into_owned(self) -> Owned<T> {
        // SAFETY: the caller guarantees exclusive ownership and non-null.
        unsafe { Owned::from_raw_ptr(self.ptr.load(Ordering::Relaxed)) }
    }

    /// The pointer, read with exclusive access (no guard needed: `&mut self`
    /// proves no other thread can change it). For `Drop` implementations.
    ///
    /// ```
    /// let mut a = baton::epoch::Atomic::<u8>::null();
    /// assert!(a.load_mut().is_null());
    /// ```
    #[inline]
    pub fn load_mut(&mut self) -> *mut T {
        // Relaxed: `&mut self` means every other access happened-before us.
        self.ptr.load(Ordering::Relaxed)
    }
}

impl<T> From<Owned<T>> for Atomic<T> {
    #[inline]
    fn from(owned: Owned<T>) -> Self {
        Self {
            ptr: AtomicPtr::new(owned.into_raw_ptr()),
            _marker: PhantomData,
        }
    }
}

impl<T> Default for Atomic<T> {
    fn default() -> Self {
        Self::null()
    }
}

impl<T> fmt::Debug for Atomic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Atomic")
            .field(&self.ptr.load(Ordering::Relaxed))
            .finish()
    }
}
