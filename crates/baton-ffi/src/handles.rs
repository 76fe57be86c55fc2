//! Handle registries: opaque pointers behind `uint64_t` handles, over
//! [`HandleMap`].
//!
//! A `baton_handles` owns the pointers inserted into it, with the
//! destructor given to [`baton_handles_new`]: [`baton_handles_remove`] with
//! a `NULL` out-parameter runs it, with an out-parameter hands the pointer
//! back instead (the caller owns it again), and [`baton_handles_free`] runs
//! it on every pointer still inside. A `NULL` destructor means the
//! registry never frees anything (the pointers are borrowed).
//!
//! Handles are checked on every use, never trusted: a handle whose value
//! was removed gives `BATON_ERR_STALE_HANDLE`, one from another registry
//! `BATON_ERR_WRONG_MAP`, and 0 or a made-up value
//! `BATON_ERR_INVALID_HANDLE` (see [`HandleMap`]'s module docs for the
//! layout and the odds of a forged value passing). 0 is never a handle.
//!
//! A destructor runs on the thread that removes or frees, outside every
//! lock of the registry: it may call the registry (but not free it).
//!
//! The registry checks handles, not the lifetimes of what they name: a
//! pointer returned by `baton_handles_get` stays valid only until some
//! thread removes its handle (and the destructor frees it). Code that
//! shares a handle between threads must agree who removes it, and when;
//! the stream scenario does so by letting each worker own its handles.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::ptr;

use baton::collections::{Handle, HandleMap};

use crate::status::{deref, guard, guard_status, out_param, Error};
use crate::{baton_status, BATON_ERR_NULL_POINTER, BATON_ERR_TOO_MANY_MAPS};

/// Frees one pointer stored in a registry. Must not unwind.
pub type baton_destructor = Option<unsafe extern "C" fn(ptr: *mut c_void)>;

/// A registry of opaque pointers addressed by `uint64_t` handles. Create
/// with [`baton_handles_new`], free with [`baton_handles_free`]; usable from
/// any number of threads at once in between.
pub struct baton_handles {
    map: HandleMap<Entry>,
    destructor: baton_destructor,
}

impl std::fmt::Debug for baton_handles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("baton_handles")
            .field("map", &self.map)
            .finish_non_exhaustive()
    }
}

/// One stored pointer; dropping it runs the destructor.
struct Entry {
    ptr: *mut c_void,
    destructor: baton_destructor,
}

// SAFETY: the registry never dereferences `ptr`; it only hands it back or
// passes it to the destructor, on whichever thread removes or frees. The
// contract of `baton_handles_insert` makes the caller promise that this is
// allowed (the pointee may be reached and destroyed from any thread).
unsafe impl Send for Entry {}
// SAFETY: shared access only copies the pointer value out (see `Send`).
unsafe impl Sync for Entry {}

impl Entry {
    /// The pointer, without running the destructor: the caller owns it.
    fn into_ptr(self) -> *mut c_void {
        ManuallyDrop::new(self).ptr
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(destroy) = self.destructor {
            // SAFETY: `ptr` was inserted with this registry's destructor
            // and is dropped once (an entry leaves the map once; `into_ptr`
            // skips this drop), as `baton_handles_new`'s contract requires.
            unsafe { destroy(self.ptr) }
        }
    }
}

/// A new, empty registry whose values are freed by `destructor` (`NULL`:
/// never freed), or `NULL` with `BATON_ERR_TOO_MANY_MAPS` as the last error
/// when 4095 registries are alive.
///
/// # Safety
///
/// `destructor`, if not `NULL`, must be safe to call once on every pointer
/// inserted, from any thread, and must not unwind.
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: the map comes from `baton_handles_new` and is freed once.
/// unsafe {
///     let map = baton_handles_new(None);
///     assert!(!map.is_null());
///     baton_handles_free(map);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_new(destructor: baton_destructor) -> *mut baton_handles {
    guard(
        "baton_handles_new",
        |_| ptr::null_mut(),
        || {
            let map = HandleMap::try_new()
                .map_err(|e| Error::new(BATON_ERR_TOO_MANY_MAPS, e.to_string()))?;
            Ok(Box::into_raw(Box::new(baton_handles { map, destructor })))
        },
    )
}

/// Stores `ptr` and returns its handle (never 0), or 0 on error (`map` or
/// `ptr` `NULL`; see `baton_last_error`). The registry owns `ptr` from now
/// on (its destructor frees it).
///
/// # Safety
///
/// `map` is `NULL` or a live registry. `ptr` may be handed to any thread
/// and to the destructor.
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: the map is live until freed; `x` outlives every use of its pointer.
/// unsafe {
///     let map = baton_handles_new(None);
///     let mut x = 7u32;
///     let h = baton_handles_insert(map, (&mut x as *mut u32).cast());
///     assert_ne!(h, 0);
///     assert_eq!(baton_handles_len(map), 1);
///     baton_handles_free(map);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_insert(map: *const baton_handles, ptr: *mut c_void) -> u64 {
    guard(
        "baton_handles_insert",
        |_| 0,
        || {
            // SAFETY: the caller's contract.
            let map = unsafe { deref(map, "map") }?;
            if ptr.is_null() {
                return Err(Error::new(
                    BATON_ERR_NULL_POINTER,
                    "ptr is NULL (a registry stores non-NULL pointers)",
                ));
            }
            let h = map.map.insert(Entry {
                ptr,
                destructor: map.destructor,
            });
            Ok(h.to_raw())
        },
    )
}

/// Looks `handle` up: `BATON_OK` with the pointer in `*out`, or an error
/// (`*out` untouched): `BATON_ERR_STALE_HANDLE`, `BATON_ERR_WRONG_MAP`,
/// `BATON_ERR_INVALID_HANDLE`, `BATON_ERR_NULL_POINTER`.
///
/// # Safety
///
/// `map` is `NULL` or a live registry; `out` is `NULL` or valid for a write.
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: the map is live until freed; `x` outlives every use of its pointer.
/// unsafe {
///     let map = baton_handles_new(None);
///     let mut x = 7u32;
///     let h = baton_handles_insert(map, (&mut x as *mut u32).cast());
///     let mut out = std::ptr::null_mut();
///     assert_eq!(baton_handles_get(map, h, &mut out), BATON_OK);
///     assert_eq!(*out.cast::<u32>(), 7);
///     assert_eq!(baton_handles_get(map, h ^ 1, &mut out), BATON_ERR_INVALID_HANDLE);
///     baton_handles_free(map);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_get(
    map: *const baton_handles,
    handle: u64,
    out: *mut *mut c_void,
) -> baton_status {
    guard_status("baton_handles_get", || {
        // SAFETY: the caller's contract.
        let map = unsafe { deref(map, "map") }?;
        let out = out_param(out, "out")?;
        let p = map.map.with(Handle::from_raw(handle), |e| e.ptr)?;
        // SAFETY: `out` is non-NULL and, by the contract, valid for a write.
        unsafe { out.write(p) };
        Ok(())
    })
}

/// Removes `handle`'s pointer: with `out` `NULL`, runs the destructor on it;
/// otherwise hands it back in `*out` (the caller owns it, the destructor
/// does not run). Errors as [`baton_handles_get`]; on error nothing is
/// removed. Every copy of `handle` is stale from then on.
///
/// # Safety
///
/// `map` is `NULL` or a live registry; `out` is `NULL` or valid for a write.
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let map = baton_handles_new(None);
///     let mut x = 7u32;
///     let h = baton_handles_insert(map, (&mut x as *mut u32).cast());
///     let mut out = std::ptr::null_mut();
///     assert_eq!(baton_handles_remove(map, h, &mut out), BATON_OK);
///     assert_eq!(out, (&mut x as *mut u32).cast());
///     assert_eq!(baton_handles_remove(map, h, std::ptr::null_mut()), BATON_ERR_STALE_HANDLE);
///     baton_handles_free(map);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_remove(
    map: *const baton_handles,
    handle: u64,
    out: *mut *mut c_void,
) -> baton_status {
    guard_status("baton_handles_remove", || {
        // SAFETY: the caller's contract.
        let map = unsafe { deref(map, "map") }?;
        let entry = map.map.remove(Handle::from_raw(handle))?;
        if out.is_null() {
            drop(entry); // the destructor, outside the shard's lock
        } else {
            // SAFETY: `out` is non-NULL and, by the contract, valid for a write.
            unsafe { out.write(entry.into_ptr()) };
        }
        Ok(())
    })
}

/// The number of pointers in `map` (0 for `NULL`, with the last error set).
/// Not a snapshot while other threads insert or remove.
///
/// # Safety
///
/// `map` is `NULL` or a live registry.
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let map = baton_handles_new(None);
///     assert_eq!(baton_handles_len(map), 0);
///     baton_handles_free(map);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_len(map: *const baton_handles) -> usize {
    guard(
        "baton_handles_len",
        |_| 0,
        || {
            // SAFETY: the caller's contract.
            Ok(unsafe { deref(map, "map") }?.map.len())
        },
    )
}

/// Frees `map`, running the destructor on every pointer still inside.
/// `NULL` does nothing. Every handle it issued is invalid from then on
/// (another registry reports it as foreign or stale, never as its own).
///
/// # Safety
///
/// `map` is `NULL` or a live registry that no other thread uses any more;
/// it must not be used again.
///
/// ```
/// use baton_ffi::*;
/// unsafe extern "C" fn free_box(p: *mut std::ffi::c_void) {
///     drop(unsafe { Box::from_raw(p.cast::<u64>()) });
/// }
/// // SAFETY: the map owns boxes made by `Box::into_raw`, which `free_box` frees once.
/// unsafe {
///     let map = baton_handles_new(Some(free_box));
///     baton_handles_insert(map, Box::into_raw(Box::new(1u64)).cast());
///     baton_handles_free(map); // frees the box
///     baton_handles_free(std::ptr::null_mut());
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_handles_free(map: *mut baton_handles) {
    guard(
        "baton_handles_free",
        |_| (),
        || {
            if !map.is_null() {
                // SAFETY: the caller's contract: a live registry from
                // `baton_handles_new` (a `Box`), used by no one else, freed once.
                drop(unsafe { Box::from_raw(map) });
            }
            Ok(())
        },
    )
}
