//! [`OnceCell<T>`]: a value initialised once, on first use, by whichever
//! caller gets there first (Go's `sync.OnceValue`, std's `OnceLock`).
//!
//! It is a [`Once`] plus a slot. Invariant: the slot holds a value exactly
//! when the `Once` is complete; the value is written only by the caller
//! running the `Once`'s action (which the `Once` makes exclusive), and read
//! only after seeing the `Once` complete with `Acquire` (which makes the
//! write visible). A failed or panicking initialiser leaves the slot empty
//! and lets the next caller retry (see [`Once`] for why).

use core::fmt;
use core::mem::MaybeUninit;

use super::Once;
use crate::shim::UnsafeCell;

/// A cell written once, read many times; initialisation is raced safely
/// and others wait (park) while one initialises.
///
/// ```
/// use baton::sync::OnceCell;
///
/// static CONFIG: OnceCell<String> = OnceCell::new();
/// let v = CONFIG.get_or_init(|| "production".to_string());
/// assert_eq!(v, "production");
/// assert_eq!(CONFIG.get().map(String::as_str), Some("production"));
/// ```
pub struct OnceCell<T> {
    once: Once,
    /// Initialised exactly when `once` is complete (see the module docs).
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: sharing the cell lets any thread initialise it (moving a `T` in:
// `T: Send`) and every thread read it (`&T` shared: `T: Sync`), as std's
// `OnceLock`.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}
// SAFETY: the cell owns its `T`.
unsafe impl<T: Send> Send for OnceCell<T> {}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// ```
    /// let c: baton::sync::OnceCell<u8> = baton::sync::OnceCell::new();
    /// assert!(c.get().is_none());
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// An empty cell.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if initialised.
    ///
    /// ```
    /// let c = baton::sync::OnceCell::new();
    /// assert_eq!(c.get(), None);
    /// c.set(3).unwrap();
    /// assert_eq!(c.get(), Some(&3));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // SAFETY: complete means initialised and never written again
            // (module invariant); `is_completed`'s Acquire made the write
            // visible.
            Some(unsafe { self.value_unchecked() })
        } else {
            None
        }
    }

    /// The value, initialising it with `f` first if it is empty. Callers
    /// that arrive while another initialises wait for it. If `f` panics,
    /// the panic propagates, the cell stays empty, and the next caller
    /// (possibly one that was waiting) runs its own initialiser.
    ///
    /// ```
    /// let c = baton::sync::OnceCell::new();
    /// assert_eq!(*c.get_or_init(|| 1), 1);
    /// assert_eq!(*c.get_or_init(|| 2), 1);
    /// ```
    #[inline]
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        match self.get_or_try_init(|| Ok::<T, core::convert::Infallible>(f())) {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// As [`get_or_init`](Self::get_or_init) with a fallible initialiser:
    /// an `Err` is returned to this caller and leaves the cell empty.
    ///
    /// ```
    /// let c = baton::sync::OnceCell::new();
    /// assert_eq!(c.get_or_try_init(|| "nope".parse::<u8>()).is_err(), true);
    /// assert_eq!(c.get_or_try_init(|| "7".parse::<u8>()), Ok(&7));
    /// ```
    pub fn get_or_try_init<E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<&T, E> {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        self.once.initialize(|| {
            let v = f()?;
            // SAFETY: we run the `Once`'s action, so we are the only writer
            // and no reader looks before it completes.
            self.value.with_mut(|p| unsafe { (*p).write(v) });
            Ok(())
        })?;
        // SAFETY: `initialize` returned `Ok`: the `Once` is complete.
        Ok(unsafe { self.value_unchecked() })
    }

    /// Stores `value` if the cell is empty; otherwise hands it back.
    ///
    /// ```
    /// let c = baton::sync::OnceCell::new();
    /// assert_eq!(c.set(1), Ok(()));
    /// assert_eq!(c.set(2), Err(2));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        let _ = self.get_or_init(|| value.take().expect("taken once"));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// Mutable access to the value, if initialised.
    ///
    /// ```
    /// let mut c = baton::sync::OnceCell::new();
    /// c.set(vec![1]).unwrap();
    /// c.get_mut().unwrap().push(2);
    /// assert_eq!(c.get(), Some(&vec![1, 2]));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.is_completed() {
            // SAFETY: initialised (module invariant); `&mut self` is
            // exclusive.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        } else {
            None
        }
    }

    /// Takes the value out, leaving the cell empty.
    ///
    /// ```
    /// let mut c = baton::sync::OnceCell::new();
    /// c.set(5).unwrap();
    /// assert_eq!(c.take(), Some(5));
    /// assert_eq!(c.get(), None);
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if self.once.is_completed() {
            self.once = Once::new();
            // SAFETY: it was initialised, and resetting `once` above marks
            // the slot empty, so the value is read out exactly once.
            Some(self.value.with_mut(|p| unsafe { (*p).assume_init_read() }))
        } else {
            None
        }
    }

    /// Consumes the cell, returning the value if initialised.
    ///
    /// ```
    /// let c = baton::sync::OnceCell::new();
    /// c.set("go").unwrap();
    /// assert_eq!(c.into_inner(), Some("go"));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// # Safety
    ///
    /// The `Once` is complete (so the value is initialised), as observed by
    /// this thread with `Acquire`.
    unsafe fn value_unchecked(&self) -> &T {
        // SAFETY: the caller guarantees initialisation; nobody writes after.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }
}

impl<T> Drop for OnceCell<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

// A panicking initialiser leaves the cell empty and consistent (as std's
// `OnceLock`, with the same bounds).
impl<T: core::panic::RefUnwindSafe + core::panic::UnwindSafe> core::panic::RefUnwindSafe
    for OnceCell<T>
{
}
impl<T: core::panic::UnwindSafe> core::panic::UnwindSafe for OnceCell<T> {}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> Self {
        let cell = Self::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(v) => f.debug_tuple("OnceCell").field(v).finish(),
            None => f.write_str("OnceCell(<uninit>)"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn drops_its_value_once() {
        static DROPS: AtomicUsize = AtomicUsize::new(0);
        struct D;
        impl Drop for D {
            fn drop(&mut self) {
                DROPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        let c = OnceCell::new();
        assert!(c.set(D).is_ok());
        assert!(c.set(D).is_err()); // the rejected one drops here
        drop(c);
        assert_eq!(DROPS.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn panicking_initialiser_leaves_it_empty() {
        let c = OnceCell::new();
        let r = std::panic::catch_unwind(|| c.get_or_init(|| -> u8 { panic!("boom") }));
        assert!(r.is_err());
        assert_eq!(c.get(), None);
        assert_eq!(*c.get_or_init(|| 4), 4);
    }

    #[test]
    fn racing_initialisers_agree() {
        let c = OnceCell::new();
        let inits = AtomicUsize::new(0);
        let seen: Vec<usize> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|i| {
                    let (c, inits) = (&c, &inits);
                    s.spawn(move || {
                        *c.get_or_init(|| {
                            inits.fetch_add(1, Ordering::SeqCst);
                            i
                        })
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(inits.load(Ordering::SeqCst), 1);
        assert!(seen.iter().all(|&v| v == seen[0]));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::Arc;

    /// Two threads race to initialise: both read the same, fully written
    /// value (loom checks the slot's accesses for data races).
    #[test]
    fn loom_once_cell_race() {
        loom::model(|| {
            let c = Arc::new(OnceCell::new());
            let c2 = c.clone();
            let t = loom::thread::spawn(move || *c2.get_or_init(|| 1));
            let mine = *c.get_or_init(|| 2);
            assert_eq!(mine, t.join().unwrap());
        });
    }
}
