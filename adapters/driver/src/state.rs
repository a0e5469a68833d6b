//! Shared application state for handlers: [`crate::Router::with_state`] stores a value once,
//! and every handler reads it with [`RequestContext::state`], without wrapping it in an `Arc`
//! or cloning it into each closure.

use std::any::{Any, TypeId, type_name};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::tasks::RequestContext;

/// The states a router holds, one per type.
#[derive(Clone, Default)]
pub(crate) struct States(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl States {
    pub(crate) fn insert<S: Send + Sync + 'static>(&mut self, state: S) {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<S>(), Arc::new(state));
    }

    fn get<S: Send + Sync + 'static>(&self) -> Option<&S> {
        self.0.get(&TypeId::of::<S>()).and_then(|state| state.downcast_ref::<S>())
    }
}

impl fmt::Debug for States {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "States({} values)", self.0.len())
    }
}

impl RequestContext {
    /// The state of type `S` that the router was given with [`crate::Router::with_state`].
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use mcp_ws_driver::Router;
    ///
    /// #[derive(Default)]
    /// struct Hits(AtomicU64);
    ///
    /// let router = Router::new().with_state(Hits::default()).tool(
    ///     "hit",
    ///     "Counts calls",
    ///     |_: serde_json::Value, ctx| async move {
    ///         let n = ctx.state::<Hits>().0.fetch_add(1, Ordering::Relaxed) + 1;
    ///         ctx.progress(1.0, Some(1.0), None); // sent only if the client asked for progress
    ///         Ok(format!("{n} calls"))
    ///     },
    /// );
    /// # let _ = router;
    /// ```
    ///
    /// # Panics
    /// If the router holds no state of type `S` (a programming error; the handler's request is
    /// answered with -32603). [`RequestContext::try_state`] does not panic.
    pub fn state<S: Send + Sync + 'static>(&self) -> &S {
        self.try_state::<S>().unwrap_or_else(|| {
            panic!("no state of type {}: add it with Router::with_state", type_name::<S>())
        })
    }

    /// The state of type `S`, if the router holds one.
    pub fn try_state<S: Send + Sync + 'static>(&self) -> Option<&S> {
        self.states.get::<S>()
    }
}
