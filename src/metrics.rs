//! The gateway's Prometheus metrics (DESIGN §11): what it answered and how fast, logins,
//! refreshes, back-channel logouts, session store and upstream failures, and config reloads;
//! their text exposition is `exposition`.
//!
//! Every series is laid out once, from the configuration, when the gateway starts: a request
//! adds to relaxed atomics found by position (its upstream's place in the route table, its
//! status class, its latency bucket), with no lock, no allocation and no formatting, and
//! counters are only read when `/metrics` is asked for. Label values come from the
//! configuration (upstream hosts and paths, provider ids) and fixed sets, never from a request
//! (no user, email or path), so the number of series is bounded by the configuration.
//!
//! Written by hand rather than with `prometheus-client` or `metrics`: both keep their series
//! in maps found by label values at every update (with a lock or a hash per request), and
//! the exposition of a fixed set of counters is a page of code.

mod exposition;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{HostPattern, ProviderConfig, ProviderKind, UpstreamConfig};

/// The status classes of `portcullis_requests_total`; a status above 599 counts as `5xx`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The upper bounds of the latency histogram's buckets, in microseconds and as written in
/// `le`: from half a millisecond (a request the gateway answers itself) to the default
/// upstream timeout of 30 s. A last bucket counts what is slower (`+Inf`).
const LATENCY_BUCKETS: [(u64, &str); 15] = [
    (500, "0.0005"),
    (1_000, "0.001"),
    (2_500, "0.0025"),
    (5_000, "0.005"),
    (10_000, "0.01"),
    (25_000, "0.025"),
    (50_000, "0.05"),
    (100_000, "0.1"),
    (250_000, "0.25"),
    (500_000, "0.5"),
    (1_000_000, "1"),
    (2_500_000, "2.5"),
    (5_000_000, "5"),
    (10_000_000, "10"),
    (30_000_000, "30"),
];

/// Where a request was answered, for its series: by the gateway itself (its own endpoints,
/// and requests that no upstream matches) or by one upstream, by its place in the route
/// table (`crate::proxy::RouteTable::slot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouteSlot(usize);

impl RouteSlot {
    /// The gateway's own answers (`upstream=""`).
    pub(crate) const GATEWAY: RouteSlot = RouteSlot(0);

    /// The upstream at `position` in the route table's matching order.
    pub(crate) fn upstream(position: usize) -> RouteSlot {
        RouteSlot(position.saturating_add(1))
    }
}

/// Why an upstream exchange failed, as the client was told (`upstream_timeout`, 504;
/// `upstream_unavailable`, 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UpstreamFailure {
    Timeout,
    Unavailable,
}

const UPSTREAM_FAILURES: [&str; 2] = ["timeout", "unavailable"];

/// Where a login failure can happen: at a provider's callback, at a local provider's form,
/// or at either (the end every login shares, `crate::flow::establish`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Happens {
    AtCallback,
    AtForm,
    AtEither,
    /// A reason missing from this list: counted, never expected (a test checks the list).
    Never,
}

/// Why a login failed: the reasons of `crate::error::LoginError::reason`, and the local
/// sign-in form's own refusals (`crate::local::form`). The series of the reasons that can
/// happen at a provider are shown from the start, at 0; others once they are not 0.
const LOGIN_FAILURES: [(&str, Happens); 21] = [
    ("missing_state", Happens::AtCallback),
    ("no_flow_cookie", Happens::AtCallback),
    ("state_mismatch", Happens::AtCallback),
    ("flow_expired", Happens::AtCallback),
    ("flow_replayed", Happens::AtCallback),
    ("provider_mismatch", Happens::AtCallback),
    ("issuer_mismatch", Happens::AtCallback),
    ("provider_error", Happens::AtCallback),
    ("missing_code", Happens::AtCallback),
    ("token_exchange", Happens::AtCallback),
    ("invalid_id_token", Happens::AtCallback),
    ("userinfo", Happens::AtCallback),
    ("ambiguous_identity", Happens::AtCallback),
    ("not_authorized", Happens::AtEither),
    ("session_too_large", Happens::AtEither),
    ("session_store", Happens::AtEither),
    ("csrf", Happens::AtForm),
    ("incorrect_password", Happens::AtForm),
    ("inactive_user", Happens::AtForm),
    ("rate_limited", Happens::AtForm),
    ("other", Happens::Never),
];

/// How one redemption of a refresh token (RFC 6749 §6, `crate::renewal`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
    Success,
    /// The provider refused the refresh token, or what it answered did not validate: the
    /// session ended.
    Refused,
    /// The renewed identity no longer passes `[authorize]`: the session ended.
    NotAuthorized,
    /// The provider could not be reached or answered anything else: the session is kept.
    ProviderError,
    /// The renewed session could not be stored.
    SessionStore,
}

/// `(outcome, reason)` of each [`RefreshOutcome`], in its order.
const REFRESH_OUTCOMES: [(&str, &str); 5] = [
    ("success", ""),
    ("failure", "refused"),
    ("failure", "not_authorized"),
    ("failure", "provider_error"),
    ("failure", "session_store"),
];

/// How a back-channel logout request (`crate::backchannel`) was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogoutOutcome {
    /// A valid logout token: 200.
    Accepted,
    /// Missing, invalid or replayed, or for a provider that has none: 400.
    Rejected,
    /// The session store could not record it: 503.
    Failed,
}

const LOGOUT_OUTCOMES: [&str; 3] = ["accepted", "rejected", "failed"];

/// Why a session store (Redis) command failed (`crate::redis::RedisError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreFailure {
    Timeout,
    Unavailable,
    Protocol,
}

const STORE_FAILURES: [&str; 3] = ["timeout", "unavailable", "protocol"];

const RELOAD_OUTCOMES: [&str; 2] = ["ok", "failed"];

/// The series of one [`RouteSlot`].
#[derive(Default)]
struct RouteSeries {
    /// `upstream` label: `{host}{path}` as configured, `""` for the gateway.
    label: String,
    by_class: [AtomicU64; STATUS_CLASSES.len()],
    /// Not cumulative: each request adds to the one bucket it falls in.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_us: AtomicU64,
    failures: [AtomicU64; UPSTREAM_FAILURES.len()],
}

/// The series of one provider, or of requests that name no configured provider.
#[derive(Default)]
struct ProviderSeries {
    /// `provider` label; `""` for the unknown provider.
    id: String,
    /// `None` for the unknown provider.
    kind: Option<ProviderKind>,
    logins: AtomicU64,
    login_failures: [AtomicU64; LOGIN_FAILURES.len()],
    refreshes: [AtomicU64; REFRESH_OUTCOMES.len()],
    logouts: [AtomicU64; LOGOUT_OUTCOMES.len()],
}

/// Every counter of one gateway; shared (`Arc`) by the request middleware, the handlers and
/// the Redis client. A configuration reload lays out a new one ([`Metrics::relaid`]) that
/// shares every series whose labels are still configured, so the counters go on, and the
/// requests still answered on the old configuration count in the same series.
pub(crate) struct Metrics {
    routes: Box<[Arc<RouteSeries>]>,
    /// In configuration order.
    providers: Box<[Arc<ProviderSeries>]>,
    /// The series no configuration changes.
    totals: Arc<Totals>,
}

/// The series of the gateway as a whole.
#[derive(Default)]
struct Totals {
    unknown_provider: ProviderSeries,
    store_failures: [AtomicU64; STORE_FAILURES.len()],
    reloads: [AtomicU64; RELOAD_OUTCOMES.len()],
}

impl Metrics {
    /// The series of `upstreams` (in the route table's matching order, so that
    /// [`RouteSlot::upstream`] finds them) and of `providers`.
    pub(crate) fn new(upstreams: &[UpstreamConfig], providers: &[ProviderConfig]) -> Metrics {
        Metrics::empty().relaid(upstreams, providers)
    }

    fn empty() -> Metrics {
        Metrics {
            routes: Box::new([Arc::new(RouteSeries::default())]),
            providers: Box::new([]),
            totals: Arc::default(),
        }
    }

    /// The series of a reloaded configuration: those of an upstream (by its label) or a
    /// provider (by its id and kind) that this layout has too are shared, so they count on;
    /// the others start at 0, and those no longer configured are no longer shown.
    pub(crate) fn relaid(
        &self,
        upstreams: &[UpstreamConfig],
        providers: &[ProviderConfig],
    ) -> Metrics {
        let gateway = self.routes.first().map_or_else(Arc::default, Arc::clone);
        let routes = std::iter::once(gateway)
            .chain(upstreams.iter().map(|upstream| {
                let label = upstream_label(upstream);
                self.routes
                    .iter()
                    .skip(1)
                    .find(|series| series.label == label)
                    .map_or_else(
                        || {
                            Arc::new(RouteSeries {
                                label,
                                ..RouteSeries::default()
                            })
                        },
                        Arc::clone,
                    )
            }))
            .collect();
        let providers = providers
            .iter()
            .map(|provider| {
                self.providers
                    .iter()
                    .find(|series| series.id == provider.id && series.kind == Some(provider.kind))
                    .map_or_else(
                        || {
                            Arc::new(ProviderSeries {
                                id: provider.id.clone(),
                                kind: Some(provider.kind),
                                ..ProviderSeries::default()
                            })
                        },
                        Arc::clone,
                    )
            })
            .collect();
        Metrics {
            routes,
            providers,
            totals: Arc::clone(&self.totals),
        }
    }

    /// A request answered with `status` after `elapsed` (to its response head).
    pub(crate) fn request(&self, slot: RouteSlot, status: u16, elapsed: Duration) {
        let Some(series) = self.routes.get(slot.0) else {
            return;
        };
        let class = usize::from(status / 100).clamp(1, STATUS_CLASSES.len()) - 1;
        if let Some(count) = series.by_class.get(class) {
            count.fetch_add(1, Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let bucket = LATENCY_BUCKETS.partition_point(|&(bound, _)| bound < micros);
        if let Some(count) = series.latency.get(bucket) {
            count.fetch_add(1, Relaxed);
        }
        series.latency_sum_us.fetch_add(micros, Relaxed);
    }

    /// The upstream of `slot` did not answer (`failure` says how).
    pub(crate) fn upstream_failed(&self, slot: RouteSlot, failure: UpstreamFailure) {
        if let Some(series) = self.routes.get(slot.0) {
            add(&series.failures, failure as usize);
        }
    }

    /// A login at `provider` set its session.
    pub(crate) fn login_succeeded(&self, provider: &str) {
        self.provider(provider).logins.fetch_add(1, Relaxed);
    }

    /// A login at `provider` (as the request named it) failed for `reason`, one of
    /// [`LOGIN_FAILURES`].
    pub(crate) fn login_failed(&self, provider: &str, reason: &str) {
        let index = LOGIN_FAILURES
            .iter()
            .position(|(known, _)| *known == reason)
            .unwrap_or(LOGIN_FAILURES.len() - 1);
        add(&self.provider(provider).login_failures, index);
    }

    /// One redemption of a refresh token issued by `provider`.
    pub(crate) fn refreshed(&self, provider: &str, outcome: RefreshOutcome) {
        add(&self.provider(provider).refreshes, outcome as usize);
    }

    /// A back-channel logout request for `provider` (as its path named it).
    pub(crate) fn backchannel_logout(&self, provider: &str, outcome: LogoutOutcome) {
        add(&self.provider(provider).logouts, outcome as usize);
    }

    /// A session store (Redis) command failed.
    pub(crate) fn store_failed(&self, failure: StoreFailure) {
        add(&self.totals.store_failures, failure as usize);
    }

    /// A configuration reload (DESIGN §11, `crate::startup::reload`): taken (`ok`) or
    /// refused.
    pub(crate) fn config_reloaded(&self, ok: bool) {
        add(&self.totals.reloads, usize::from(!ok));
    }

    /// The series of `id`, or of the unknown provider.
    fn provider(&self, id: &str) -> &ProviderSeries {
        self.providers
            .iter()
            .find(|series| series.id == id)
            .map_or(&self.totals.unknown_provider, |series| series)
    }

    /// The Prometheus text exposition (format 0.0.4) of every series.
    pub(crate) fn render(&self) -> String {
        exposition::render(self)
    }

    /// The value of the sample `series` (its name and labels as written) in [`Self::render`].
    #[cfg(test)]
    pub(crate) fn value(&self, series: &str) -> Option<u64> {
        self.render().lines().find_map(|line| {
            let value = line.strip_prefix(series)?.strip_prefix(' ')?;
            value.parse().ok()
        })
    }
}

/// The `Content-Type` of [`Metrics::render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn add(counters: &[AtomicU64], index: usize) {
    if let Some(counter) = counters.get(index) {
        counter.fetch_add(1, Relaxed);
    }
}

/// An upstream's `upstream` label: its `host` (`app.example.com`, `*.example.com`) followed
/// by its `path`; unique, since no two upstreams share both.
fn upstream_label(upstream: &UpstreamConfig) -> String {
    let host = match &upstream.host {
        Some(HostPattern::Exact(name)) => name.clone(),
        Some(HostPattern::Subdomains(parent)) => format!("*.{parent}"),
        None => String::new(),
    };
    format!("{host}{}", upstream.path)
}

#[cfg(test)]
mod tests;
