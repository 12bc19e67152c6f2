//! The renewal flights of this process (`crate::renewal`): one per session id and
//! generation, shared by every request of that generation, and kept [`GRACE`] after it
//! lands for the requests that still carry the cookie it renewed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::record::Session;

/// How long the pre-refresh cookie still gets the renewed session (DESIGN §6).
pub(crate) const GRACE: Duration = Duration::from_secs(10);

/// What a renewal came to.
#[derive(Clone)]
pub(crate) enum Outcome {
    /// The renewed session (the next generation), already saved in the store.
    Renewed(Box<Session>),
    /// The grant is gone or the renewed identity is refused: signed out.
    Ended,
    /// The provider could not be reached: the session is kept as it was.
    Unavailable,
}

type Flight = Arc<OnceCell<(Outcome, Instant)>>;

/// The flights of this process, by session id and generation; each is kept [`GRACE`] after
/// it lands, for the requests that still carry the cookie it renewed.
#[derive(Default)]
pub(crate) struct Flights {
    flights: Mutex<HashMap<(String, u32), Flight>>,
}

impl Flights {
    fn lock(&self) -> MutexGuard<'_, HashMap<(String, u32), Flight>> {
        self.flights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The flight for `session`'s generation: an existing one, or a new one.
    pub(crate) fn flight(&self, session: &Session) -> Flight {
        let mut flights = self.lock();
        flights.retain(|_, flight| {
            flight
                .get()
                .is_none_or(|(_, landed)| landed.elapsed() < GRACE)
        });
        Arc::clone(
            flights
                .entry((session.id.clone(), session.generation))
                .or_default(),
        )
    }

    /// The landed renewal of `session`'s generation within the grace period, if this process
    /// made it.
    pub(crate) fn landed(&self, session: &Session) -> Option<Outcome> {
        let flights = self.lock();
        let flight = flights.get(&(session.id.clone(), session.generation))?;
        flight
            .get()
            .filter(|(_, landed)| landed.elapsed() < GRACE)
            .map(|(outcome, _)| outcome.clone())
    }
}
