//! Which client connections the gateway takes on: at most `server.max_connections` at once,
//! and at most `server.max_connections_per_client` from one client address, so one address
//! cannot take every descriptor the gateway has.
//!
//! An HTTP/2 stream answered while others are on the same connection needs an upstream
//! descriptor of its own, so it takes a place too ([`super::connection`]).
//!
//! A connection over a bound is closed at once, right after it is accepted: it holds no
//! descriptor and no memory, its client learns at once that it was refused (a load balancer
//! in front retries elsewhere), and the gateway never queues people behind connections an
//! attacker queued first. Clients are told apart by IPv4 address or IPv6 /64 (one host
//! usually has a whole /64, RFC 4291 §2.5.4); peers in `server.trusted_proxies` carry many
//! people's connections and are held only to the overall bound.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::client_address::ClientNetwork;
use crate::config::IpNetwork;

/// How often a bound being reached is logged at most, per bound.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The bounds in force: `server.max_connections` (or the one derived from the descriptor
/// limit) and `server.max_connections_per_client`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionLimits {
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

/// Descriptors kept for everything but client connections: the listener, logs, the provider
/// client, standard streams.
const RESERVED_DESCRIPTORS: u64 = 64;
/// Beyond this the default stops growing with the descriptor limit (a raised limit is often
/// a million): each connection also costs memory.
const DEFAULT_MAX_CONNECTIONS_CAP: u64 = 16_384;

impl ConnectionLimits {
    /// The configured bounds, or defaults derived from `descriptor_limit` (the soft
    /// `RLIMIT_NOFILE`): each proxied request needs a descriptor for the client and one for
    /// the upstream, so half of what is left after [`RESERVED_DESCRIPTORS`], at most
    /// [`DEFAULT_MAX_CONNECTIONS_CAP`]; per client a quarter of that.
    pub(crate) fn new(
        max_connections: Option<usize>,
        max_connections_per_client: Option<usize>,
        descriptor_limit: u64,
    ) -> ConnectionLimits {
        let derived = descriptor_limit.saturating_sub(RESERVED_DESCRIPTORS) / 2;
        let derived = usize::try_from(derived.min(DEFAULT_MAX_CONNECTIONS_CAP))
            .unwrap_or(usize::MAX)
            .max(1);
        let max_connections = max_connections.unwrap_or(derived);
        ConnectionLimits {
            max_connections,
            max_connections_per_client: max_connections_per_client
                .unwrap_or((max_connections / 4).max(1)),
        }
    }

    /// The descriptors `max_connections` proxied requests need at once.
    pub(crate) fn descriptors_needed(&self) -> u64 {
        u64::try_from(self.max_connections)
            .unwrap_or(u64::MAX)
            .saturating_mul(2)
            .saturating_add(RESERVED_DESCRIPTORS)
    }
}

/// Counts open client connections and admits or refuses new ones.
pub(crate) struct Admission {
    limits: ConnectionLimits,
    trusted_proxies: Vec<IpNetwork>,
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    open: usize,
    by_client: HashMap<ClientNetwork, usize>,
    overall_warning: Warning,
    client_warning: Warning,
}

/// When a bound was last logged and how many connections it refused since.
#[derive(Default)]
struct Warning {
    last: Option<Instant>,
    refused: u64,
}

impl Warning {
    /// Counts a refusal; `Some(refusals since the last warning)` when it is time to log.
    fn refused(&mut self) -> Option<u64> {
        self.refused = self.refused.saturating_add(1);
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < WARNING_INTERVAL)
        {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.refused))
    }
}

/// One admitted connection; dropping it frees its place. It lives as long as the client's
/// socket, also when that socket becomes a WebSocket tunnel.
pub(crate) struct ConnectionSlot {
    admission: Arc<Admission>,
    /// Who the connection counts against for `max_connections_per_client`.
    client: Option<ClientNetwork>,
}

impl Admission {
    pub(crate) fn new(limits: ConnectionLimits, trusted_proxies: Vec<IpNetwork>) -> Admission {
        Admission {
            limits,
            trusted_proxies,
            state: Mutex::new(Counts::default()),
        }
    }

    /// A place for a connection from `peer`, or `None` (and a warning, at most once a minute
    /// per bound) when a bound is reached.
    pub(crate) fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<ConnectionSlot> {
        let limits = self.limits;
        let trusted = self.trusted_proxies.iter().any(|net| net.contains(peer));
        let client = (!trusted).then(|| ClientNetwork::of(peer));
        let mut counts = self.counts();
        if counts.open >= limits.max_connections {
            if let Some(refused) = counts.overall_warning.refused() {
                tracing::warn!(
                    limit = limits.max_connections,
                    refused,
                    "server.max_connections reached: new client connections are closed at once \
                     (and HTTP/2 streams beyond a connection's first refused) until some end; \
                     raise server.max_connections (each connection needs about two \
                     descriptors, see the descriptor limit logged at start-up) if this is the \
                     normal load"
                );
            }
            return None;
        }
        if let Some(key) = client {
            let held = counts.by_client.entry(key).or_insert(0);
            if *held >= limits.max_connections_per_client {
                if let Some(refused) = counts.client_warning.refused() {
                    tracing::warn!(
                        client = %peer,
                        limit = limits.max_connections_per_client,
                        refused,
                        "a client address holds server.max_connections_per_client connections \
                         (HTTP/2 streams beyond a connection's first count as one each): its new \
                         ones are refused until some end; raise \
                         server.max_connections_per_client, or list a proxy in front of the \
                         gateway in server.trusted_proxies"
                    );
                }
                return None;
            }
            *held += 1;
        }
        counts.open += 1;
        Some(ConnectionSlot {
            admission: Arc::clone(self),
            client,
        })
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.admission.counts();
        counts.open = counts.open.saturating_sub(1);
        if let Some(key) = self.client {
            if let Some(held) = counts.by_client.get_mut(&key) {
                *held = held.saturating_sub(1);
                if *held == 0 {
                    counts.by_client.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_bound_leaves_two_descriptors_per_connection() {
        let cases = [
            // (descriptor limit, max_connections, per client)
            (256, 96, 24),
            (1024, 480, 120),
            (524_288, 16_384, 4096),
            (64, 1, 1),
            (0, 1, 1),
        ];
        for (descriptors, max, per_client) in cases {
            let limits = ConnectionLimits::new(None, None, descriptors);
            assert_eq!(
                (limits.max_connections, limits.max_connections_per_client),
                (max, per_client),
                "{descriptors}"
            );
            if descriptors >= 66 {
                assert!(limits.descriptors_needed() <= descriptors, "{descriptors}");
            }
        }
    }

    #[test]
    fn configured_bounds_win_over_the_derived_ones() {
        let limits = ConnectionLimits::new(Some(10), None, 1024);
        assert_eq!(
            (limits.max_connections, limits.max_connections_per_client),
            (10, 2)
        );
        let limits = ConnectionLimits::new(None, Some(7), 1024);
        assert_eq!(
            (limits.max_connections, limits.max_connections_per_client),
            (480, 7)
        );
        assert_eq!(limits.descriptors_needed(), 480 * 2 + 64);
    }

    fn admission(max: usize, per_client: usize, trusted: &[&str]) -> Arc<Admission> {
        let trusted = trusted
            .iter()
            .map(|t| IpNetwork::parse(t).unwrap())
            .collect();
        Arc::new(Admission::new(
            ConnectionLimits {
                max_connections: max,
                max_connections_per_client: per_client,
            },
            trusted,
        ))
    }

    #[test]
    fn each_bound_refuses_until_a_place_is_freed() {
        let admission = admission(3, 2, &[]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "per client");
        let _third = admission.admit(b).unwrap();
        assert!(admission.admit(b).is_none(), "overall");
        drop(first);
        let _fourth = admission.admit(b).unwrap();
        assert!(admission.admit(a).is_none(), "overall again");
        assert_eq!(admission.counts().open, 3);
    }

    #[test]
    fn trusted_proxies_are_held_only_to_the_overall_bound() {
        let admission = admission(3, 1, &["10.0.0.0/8"]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let slots: Vec<_> = (0..3).map(|_| admission.admit(proxy).unwrap()).collect();
        assert!(admission.admit(proxy).is_none());
        drop(slots);
        assert_eq!(admission.counts().open, 0);
        assert!(admission.counts().by_client.is_empty());
    }
}
