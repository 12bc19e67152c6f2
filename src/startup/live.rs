//! The gateway in effect ([`Live`]), which every connection answers with: each request
//! takes the [`App`] in effect when it arrives and is answered by it to its last byte, so a
//! reload (`super::reload`) swaps in a new one without touching
//! the requests in progress (a long download, an open WebSocket), while the next request,
//! on a new connection or a kept-alive one, is answered by the new one.
//!
//! The cost per request is one uncontended read of a `RwLock` and the clone of the `App`
//! that answering took before (the `Router` and the gate's state are `Arc`s).

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::Request;

use super::app::{App, AppAnswer};
use crate::server::Answerer;
use crate::state::AppState;

/// What the gateway runs on now: the service and the state it was made from.
struct Current {
    app: App,
    state: AppState,
}

/// The gateway in effect, shared by every connection, the reloader and the metrics
/// listener; cheap to clone.
#[derive(Clone)]
pub(crate) struct Live(Arc<RwLock<Current>>);

impl Live {
    pub(crate) fn new(state: AppState) -> Live {
        Live(Arc::new(RwLock::new(Current {
            app: App::new(state.clone()),
            state,
        })))
    }

    /// The state in effect.
    pub(crate) fn state(&self) -> AppState {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .state
            .clone()
    }

    fn app(&self) -> App {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .app
            .clone()
    }

    /// Puts `state` in effect for every request from now on.
    pub(crate) fn replace(&self, state: AppState) {
        let next = Current {
            app: App::new(state.clone()),
            state,
        };
        let previous = std::mem::replace(
            &mut *self.0.write().unwrap_or_else(PoisonError::into_inner),
            next,
        );
        // Dropped outside the lock; the requests in progress hold their own clones.
        drop(previous);
    }
}

/// The connections' answerer: each request takes the [`App`] in effect when it arrives and
/// is answered by it.
impl Answerer for Live {
    type Answer = AppAnswer;

    fn answer(&self, request: Request, peer: SocketAddr) -> AppAnswer {
        self.app().answer(request, peer)
    }
}
