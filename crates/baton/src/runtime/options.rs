//! Per-goroutine settings: [`Options`], and the spawns that take them
//! ([`go_with`], [`try_go_with`]; also [`Scope::go_with`] and
//! [`Runtime::go_with`]).
//!
//! `Options` is a builder that can grow (a name for dumps is the likely
//! next field) without new spawn functions: every setting defaults to the
//! runtime's, and a goroutine spawned with `Options::new()` is exactly one
//! spawned with [`go`](super::go).
//!
//! [`Scope::go_with`]: super::Scope::go_with
//! [`Runtime::go_with`]: super::Runtime::go_with

use core::panic::Location;

use super::join::JoinHandle;
use super::sched::stack::usable_size;
use super::spawn::{current_shared, spawn_with_unchecked, SpawnError};

/// Settings for one goroutine, for [`go_with`]; anything left unset is the
/// runtime's.
///
/// ```
/// use baton::runtime::{go_with, Options};
///
/// let opts = Options::new().stack_size(1 << 20);
/// let h = go_with(opts.clone(), || {
///     let buf = std::hint::black_box([1u8; 128 * 1024]); // too big for 64 KiB
///     buf.iter().map(|&b| u32::from(b)).sum::<u32>()
/// });
/// assert_eq!(h.join().unwrap(), 128 * 1024);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Requested usable stack bytes, as given; `None`: the runtime's.
    stack_size: Option<usize>,
}

impl Options {
    /// The runtime's settings for everything (what [`go`](super::go) uses).
    pub(crate) const DEFAULT: Options = Options { stack_size: None };

    /// Every setting the runtime's.
    ///
    /// ```
    /// let h = baton::runtime::go_with(baton::runtime::Options::new(), || 3);
    /// assert_eq!(h.join().unwrap(), 3);
    /// ```
    pub fn new() -> Self {
        Self::DEFAULT
    }

    /// Usable stack size of this goroutine, in bytes, instead of the
    /// runtime's ([`Builder::stack_size`], by default
    /// [`DEFAULT_STACK_SIZE`](super::DEFAULT_STACK_SIZE)). Rounded up to
    /// whole pages, at least 4 KiB; the stack is fixed-size and guarded like
    /// any other, and an overflow reports this size. Only the pages the
    /// goroutine touches cost memory, and a stack of another size than the
    /// runtime's is trimmed to its top
    /// [`STACK_KEEP`](super::STACK_KEEP) bytes when the goroutine finishes.
    /// A size the system cannot map makes the goroutine fail to start: its
    /// join returns a [`Panic`](super::Panic) saying so.
    ///
    /// [`Builder::stack_size`]: super::Builder::stack_size
    ///
    /// ```
    /// use baton::runtime::{go_with, Options};
    ///
    /// fn depth(n: u32) -> u32 {
    ///     let frame = std::hint::black_box([0u8; 4096]);
    ///     if n == 0 { u32::from(frame[0]) } else { 1 + depth(n - 1) }
    /// }
    /// // 1000 frames of 4 KiB or more: far past the 64 KiB default.
    /// let h = go_with(Options::new().stack_size(16 << 20), || depth(1000));
    /// assert_eq!(h.join().unwrap(), 1000);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The stack size a task carries: normalised, or 0 for the runtime's.
    #[inline]
    pub(crate) fn normalised_stack_size(&self) -> usize {
        self.stack_size.map_or(0, usable_size)
    }
}

/// [`go`](super::go) with per-goroutine [`Options`].
///
/// # Panics
///
/// As [`go`](super::go): at the kernel's mapping cap (see [`try_go_with`]).
///
/// ```
/// use baton::runtime::{go_with, stack_usage, Options};
///
/// let h = go_with(Options::new().stack_size(256 * 1024), || {
///     stack_usage().unwrap().size()
/// });
/// assert_eq!(h.join().unwrap(), 256 * 1024);
/// ```
#[track_caller]
pub fn go_with<F, T>(opts: Options, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match try_go_with(opts, f) {
        Ok(h) => h,
        Err(e) => panic!("baton::runtime::go_with: {e}"),
    }
}

/// [`try_go`](super::try_go) with per-goroutine [`Options`]: at the
/// kernel's mapping cap, returns an error holding `f` instead of panicking.
///
/// ```
/// use baton::runtime::{try_go_with, Options};
///
/// match try_go_with(Options::new().stack_size(1 << 20), || 6 * 7) {
///     Ok(h) => assert_eq!(h.join().unwrap(), 42),
///     Err(e) => assert_eq!((e.into_inner())(), 42),
/// }
/// ```
#[track_caller]
pub fn try_go_with<F, T>(opts: Options, f: F) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    let shared = current_shared();
    // SAFETY: `F` and `T` are `'static`: nothing they hold can dangle.
    unsafe { spawn_with_unchecked(&shared, f, site, None, &opts) }
}
