//! [`Metrics`] in the Prometheus text exposition format 0.0.4
//! (<https://prometheus.io/docs/instrumenting/exposition_formats/>): per family one `# HELP`
//! and one `# TYPE` line, then its samples; label values escaped (`\\`, `\"`, `\n`).
//!
//! Series of a fixed label set are written from the start, at 0, so that `rate()` sees the
//! first event: every status class of every upstream, every outcome a provider of its kind
//! can have. A series that can only come from a request naming no configured provider (a
//! callback or logout for an unknown id, `provider=""`) is written once it is not 0.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::{
    Happens, Metrics, ProviderSeries, LATENCY_BUCKETS, LOGIN_FAILURES, LOGOUT_OUTCOMES,
    REFRESH_OUTCOMES, RELOAD_OUTCOMES, STATUS_CLASSES, STORE_FAILURES, UPSTREAM_FAILURES,
};
use crate::config::ProviderKind;

/// The family names, for the tests.
#[cfg(test)]
pub(super) const FAMILIES: [&str; 9] = [
    "portcullis_requests_total",
    "portcullis_request_duration_seconds",
    "portcullis_upstream_errors_total",
    "portcullis_logins_total",
    "portcullis_refreshes_total",
    "portcullis_backchannel_logouts_total",
    "portcullis_session_store_errors_total",
    "portcullis_config_reloads_total",
    "portcullis_build_info",
];

pub(super) fn render(metrics: &Metrics) -> String {
    let mut text = Text(String::with_capacity(8 * 1024));
    requests(&mut text, metrics);
    latency(&mut text, metrics);
    upstream_errors(&mut text, metrics);
    logins(&mut text, metrics);
    refreshes(&mut text, metrics);
    logouts(&mut text, metrics);
    text.family(
        "portcullis_session_store_errors_total",
        "counter",
        "Session store (Redis) commands that failed, whatever asked for them, by why.",
    );
    for (kind, count) in STORE_FAILURES.iter().zip(&metrics.totals.store_failures) {
        text.sample(
            "portcullis_session_store_errors_total",
            &[("kind", kind)],
            load(count),
        );
    }
    text.family(
        "portcullis_config_reloads_total",
        "counter",
        "Configuration reloads (SIGHUP or a changed file), taken (ok) or refused (failed).",
    );
    for (outcome, count) in RELOAD_OUTCOMES.iter().zip(&metrics.totals.reloads) {
        text.sample(
            "portcullis_config_reloads_total",
            &[("outcome", outcome)],
            load(count),
        );
    }
    text.family(
        "portcullis_build_info",
        "gauge",
        "Always 1; the version of the running gateway is its label.",
    );
    text.sample(
        "portcullis_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    text.0
}

fn requests(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_requests_total";
    text.family(
        NAME,
        "counter",
        "Requests answered, by upstream (its host and path as configured; empty for the \
         gateway's own answers) and status class.",
    );
    for route in &metrics.routes {
        for (class, count) in STATUS_CLASSES.iter().zip(&route.by_class) {
            text.sample(
                NAME,
                &[("upstream", &route.label), ("status_class", class)],
                load(count),
            );
        }
    }
}

fn latency(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_request_duration_seconds";
    text.family(
        NAME,
        "histogram",
        "Time from a request's arrival to its response head, by upstream (empty for the \
         gateway's own answers).",
    );
    for route in &metrics.routes {
        let upstream = route.label.as_str();
        let mut cumulative = 0u64;
        let bounds = LATENCY_BUCKETS.iter().map(|(_, le)| *le).chain(["+Inf"]);
        for (le, count) in bounds.zip(&route.latency) {
            cumulative = cumulative.saturating_add(load(count));
            text.sample(
                "portcullis_request_duration_seconds_bucket",
                &[("upstream", upstream), ("le", le)],
                cumulative,
            );
        }
        // Written as a decimal number of seconds (f64's `Display` never uses an exponent).
        let seconds = load(&route.latency_sum_us) as f64 / 1e6;
        text.line(format_args!(
            "portcullis_request_duration_seconds_sum{{upstream=\"{}\"}} {seconds}",
            Escaped(upstream)
        ));
        text.sample(
            "portcullis_request_duration_seconds_count",
            &[("upstream", upstream)],
            cumulative,
        );
    }
}

fn upstream_errors(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_upstream_errors_total";
    text.family(
        NAME,
        "counter",
        "Requests an upstream did not answer, by upstream and kind: timeout (504) or \
         unavailable (502: refused, unreachable, broken HTTP).",
    );
    for route in metrics.routes.iter().skip(1) {
        for (kind, count) in UPSTREAM_FAILURES.iter().zip(&route.failures) {
            text.sample(
                NAME,
                &[("upstream", &route.label), ("kind", kind)],
                load(count),
            );
        }
    }
}

fn logins(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_logins_total";
    text.family(
        NAME,
        "counter",
        "Sign-ins by provider and outcome; failures by reason.",
    );
    for provider in providers(metrics) {
        let id = provider.id.as_str();
        if provider.kind.is_some() || load(&provider.logins) > 0 {
            text.sample(
                NAME,
                &[("provider", id), ("outcome", "success")],
                load(&provider.logins),
            );
        }
        for ((reason, happens), count) in LOGIN_FAILURES.iter().zip(&provider.login_failures) {
            if can_fail_at(provider.kind, *happens) || load(count) > 0 {
                text.sample(
                    NAME,
                    &[("provider", id), ("outcome", "failure"), ("reason", reason)],
                    load(count),
                );
            }
        }
    }
}

/// Whether a login at a provider of `kind` can fail where `happens` says.
fn can_fail_at(kind: Option<ProviderKind>, happens: Happens) -> bool {
    match (kind, happens) {
        (None, _) | (_, Happens::Never) => false,
        (Some(_), Happens::AtEither) => true,
        (Some(kind), Happens::AtForm) => kind == ProviderKind::Local,
        (Some(kind), Happens::AtCallback) => kind != ProviderKind::Local,
    }
}

fn refreshes(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_refreshes_total";
    text.family(
        NAME,
        "counter",
        "Refresh token redemptions (RFC 6749 section 6) by provider and outcome, at the \
         provider for a session and at /oauth2/token for a local provider's tokens; failures \
         by reason: refused and not_authorized end the session, provider_error and \
         session_store keep it.",
    );
    for provider in providers(metrics) {
        let shown = provider
            .kind
            .is_some_and(|kind| kind != ProviderKind::Local);
        for ((outcome, reason), count) in REFRESH_OUTCOMES.iter().zip(&provider.refreshes) {
            if !(shown || load(count) > 0) {
                continue;
            }
            let labels = [
                ("provider", provider.id.as_str()),
                ("outcome", outcome),
                ("reason", reason),
            ];
            let labels = if reason.is_empty() {
                labels.get(..2).unwrap_or_default()
            } else {
                &labels
            };
            text.sample(NAME, labels, load(count));
        }
    }
}

fn logouts(text: &mut Text, metrics: &Metrics) {
    const NAME: &str = "portcullis_backchannel_logouts_total";
    text.family(
        NAME,
        "counter",
        "Back-channel logout requests by provider (empty when the path names none that is \
         configured) and outcome: accepted (200), rejected (400), failed (503, the session \
         store could not record it).",
    );
    for provider in providers(metrics) {
        let shown = provider.kind.is_some_and(ProviderKind::is_oidc);
        for (outcome, count) in LOGOUT_OUTCOMES.iter().zip(&provider.logouts) {
            if shown || load(count) > 0 {
                text.sample(
                    NAME,
                    &[("provider", &provider.id), ("outcome", outcome)],
                    load(count),
                );
            }
        }
    }
}

/// The configured providers, then the unknown one.
fn providers(metrics: &Metrics) -> impl Iterator<Item = &ProviderSeries> {
    metrics
        .providers
        .iter()
        .map(|series| &**series)
        .chain(std::iter::once(&metrics.totals.unknown_provider))
}

fn load(counter: &AtomicU64) -> u64 {
    counter.load(Relaxed)
}

/// The exposition being written. Writing to a `String` cannot fail.
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        self.line(format_args!("# HELP {name} {help}"));
        self.line(format_args!("# TYPE {name} {kind}"));
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        let _ = write!(self.0, "{name}");
        for (index, (label, value)) in labels.iter().enumerate() {
            let open = if index == 0 { "{" } else { "," };
            let _ = write!(self.0, "{open}{label}=\"{}\"", Escaped(value));
        }
        if !labels.is_empty() {
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn line(&mut self, line: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.0, "{line}");
    }
}

/// A label value with `\`, `"` and line feeds escaped.
pub(super) struct Escaped<'a>(pub(super) &'a str);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '"' => f.write_str("\\\"")?,
                '\n' => f.write_str("\\n")?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
