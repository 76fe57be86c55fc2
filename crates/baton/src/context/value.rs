//! [`with_value`] and the lookup behind [`Context::value`]: values keyed
//! by their type, found by walking from the context towards the root (the
//! innermost wins, as with Go's `valueCtx`). The walk is a few pointer
//! hops per ancestor; Go's advice holds: values are for request-scoped
//! data, a handful per request, not a map.

use core::any::{Any, TypeId};
use std::sync::Arc;

use super::{Context, Inner, Kind};

/// A child of `parent` carrying `value`, found by
/// [`ctx.value::<T>()`](Context::value) on it and on every context derived
/// from it (Go's `context.WithValue`). The key is the value's type: define
/// a newtype per key, as Go code defines an unexported key type, so that
/// packages cannot collide. A later value of the same type hides an
/// earlier one for the contexts below it.
///
/// ```
/// use baton::context;
///
/// struct TraceId(&'static str);
///
/// let root = context::with_value(&context::background(), TraceId("outer"));
/// let inner = context::with_value(&root, TraceId("inner"));
/// assert_eq!(inner.value::<TraceId>().unwrap().0, "inner");
/// assert_eq!(root.value::<TraceId>().unwrap().0, "outer");
/// ```
pub fn with_value<T: Any + Send + Sync>(parent: &Context, value: T) -> Context {
    Context(Arc::new(Inner {
        kind: Kind::Value {
            source: parent.source().cloned(),
            value: Box::new(value),
            type_name: core::any::type_name::<T>(),
        },
        parent: Some(parent.clone()),
        deadline: parent.deadline(),
    }))
}

/// The innermost value of type `T` on the way from `ctx` to the root.
pub(super) fn lookup<T: Any>(ctx: &Context) -> Option<&T> {
    let want = TypeId::of::<T>();
    let mut at = Some(ctx);
    while let Some(c) = at {
        if let Kind::Value { value, .. } = &c.0.kind {
            if (**value).type_id() == want {
                return value.downcast_ref::<T>();
            }
        }
        at = c.0.parent.as_ref();
    }
    None
}
