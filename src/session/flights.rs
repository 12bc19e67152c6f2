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
/// it lands, for the requests that still carry the cookie it renewed (one that found the
/// provider unreachable is dropped by the next request).
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

    /// The flight for `session`'s generation: an existing one, or a new one. A flight that
    /// found the provider unreachable is shared only by the requests that awaited it: the
    /// next request tries again, so a session recovers as soon as the provider is back.
    pub(crate) fn flight(&self, session: &Session) -> Flight {
        let mut flights = self.lock();
        flights.retain(|_, flight| match flight.get() {
            None => true,
            Some((Outcome::Unavailable, _)) => false,
            Some((_, landed)) => landed.elapsed() < GRACE,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn session() -> Session {
        let identity = Identity {
            user: "sub".into(),
            email: None,
            preferred_username: None,
            groups: Vec::new(),
            provider: "mock".into(),
        };
        Session::new(identity, 0, 3600)
    }

    #[tokio::test]
    async fn a_landed_renewal_is_shared_but_an_unreachable_provider_is_tried_again() {
        let flights = Flights::default();
        let renewed = session();
        let first = flights.flight(&renewed);
        first
            .get_or_init(|| async { (Outcome::Renewed(Box::new(renewed.clone())), Instant::now()) })
            .await;
        assert!(Arc::ptr_eq(&first, &flights.flight(&renewed)));

        let down = session();
        let first = flights.flight(&down);
        first
            .get_or_init(|| async { (Outcome::Unavailable, Instant::now()) })
            .await;
        assert!(!Arc::ptr_eq(&first, &flights.flight(&down)));
    }
}
