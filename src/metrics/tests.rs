use std::path::PathBuf;
use std::time::Duration;

use super::exposition::FAMILIES;
use super::*;
use crate::config::Config;
use crate::error::LoginError;
use crate::proxy::RouteTable;

/// A configuration with an OpenID provider (`corp`), a local one (`staff`, whose users file
/// is written next to the configuration) and three upstreams, one of them for a host.
struct Configured {
    config: Config,
    dir: PathBuf,
}

impl Configured {
    fn new(name: &str) -> Configured {
        let dir =
            std::env::temp_dir().join(format!("portcullis-metrics-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("users.toml"), "").unwrap();
        let source = r#"
[server]
listen = "127.0.0.1:4180"
public_url = "https://auth.example.com"

[session]
secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

[[provider]]
id = "corp"
kind = "oidc"
issuer = "https://sso.example.com"
client_id = "portcullis"
client_secret = "not-a-real-secret"

[[provider]]
id = "staff"
kind = "local"
users_file = "users.toml"

[authorize]
email_domains = ["example.com"]

[[upstream]]
path = "/"
url = "http://127.0.0.1:8080"

[[upstream]]
path = "/api"
url = "http://127.0.0.1:8081"

[[upstream]]
host = "*.example.com"
path = "/"
url = "http://127.0.0.1:8082"
"#;
        let file = dir.join("providers.toml").display().to_string();
        let config = Config::parse(source, &file, &|_| None).unwrap();
        Configured { config, dir }
    }

    /// The route table and the metrics laid out from it, as `AppState::new` makes them.
    fn metrics(&self) -> (RouteTable, Metrics) {
        let routes = RouteTable::new(self.config.upstreams.clone());
        let metrics = Metrics::new(routes.upstreams(), &self.config.providers);
        (routes, metrics)
    }
}

impl Drop for Configured {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every reason a login can fail for, so that a new `LoginError` variant cannot be left out
/// of [`LOGIN_FAILURES`] (the `match` stops compiling first).
fn every_login_error() -> Vec<LoginError> {
    let all = vec![
        LoginError::MissingState,
        LoginError::NoFlowCookie,
        LoginError::StateMismatch,
        LoginError::FlowExpired,
        LoginError::FlowReplayed,
        LoginError::ProviderMismatch,
        LoginError::IssuerMismatch,
        LoginError::ProviderError {
            code: "access_denied".into(),
            detail: "access_denied".into(),
        },
        LoginError::MissingCode,
        LoginError::TokenExchange(String::new()),
        LoginError::InvalidIdToken(String::new()),
        LoginError::Userinfo(String::new()),
        LoginError::NotAuthorized(String::new()),
        LoginError::AmbiguousIdentity("sub"),
        LoginError::SessionTooLarge(String::new()),
        LoginError::StoreUnavailable,
    ];
    for error in &all {
        match error {
            LoginError::MissingState
            | LoginError::NoFlowCookie
            | LoginError::StateMismatch
            | LoginError::FlowExpired
            | LoginError::FlowReplayed
            | LoginError::ProviderMismatch
            | LoginError::IssuerMismatch
            | LoginError::ProviderError { .. }
            | LoginError::MissingCode
            | LoginError::TokenExchange(_)
            | LoginError::InvalidIdToken(_)
            | LoginError::Userinfo(_)
            | LoginError::NotAuthorized(_)
            | LoginError::UnverifiedEmail { .. }
            | LoginError::AmbiguousIdentity(_)
            | LoginError::SessionTooLarge(_)
            | LoginError::StoreUnavailable => {}
        }
    }
    all
}

#[test]
fn every_login_failure_reason_has_a_series_of_its_own() {
    let form_reasons = [
        "csrf",
        "incorrect_password",
        "inactive_user",
        "rate_limited",
    ];
    let reasons: Vec<&str> = every_login_error()
        .iter()
        .map(LoginError::reason)
        .chain(form_reasons)
        .collect();
    for reason in &reasons {
        let known = LOGIN_FAILURES.iter().find(|(known, _)| known == reason);
        assert!(
            known.is_some_and(|(_, happens)| *happens != Happens::Never),
            "{reason} is not in LOGIN_FAILURES"
        );
    }
    assert_eq!(
        reasons.len() + 1,
        LOGIN_FAILURES.len(),
        "a reason in LOGIN_FAILURES that nothing reports (besides `other`)"
    );
}

#[test]
fn requests_count_by_status_class_and_latency_bucket() {
    let metrics = Metrics::new(&[], &[]);
    let gateway = RouteSlot::GATEWAY;
    metrics.request(gateway, 200, Duration::from_micros(400));
    metrics.request(gateway, 204, Duration::from_micros(500));
    metrics.request(gateway, 302, Duration::from_micros(501));
    metrics.request(gateway, 404, Duration::from_millis(20));
    metrics.request(gateway, 599, Duration::from_secs(31));
    metrics.request(gateway, 600, Duration::from_secs(3600));
    metrics.request(gateway, 101, Duration::ZERO);

    let value = |series: &str| metrics.value(series).unwrap_or_else(|| panic!("{series}"));
    let class = |class: &str| {
        value(&format!(
            "portcullis_requests_total{{upstream=\"\",status_class=\"{class}\"}}"
        ))
    };
    assert_eq!(
        [
            class("1xx"),
            class("2xx"),
            class("3xx"),
            class("4xx"),
            class("5xx")
        ],
        [1, 2, 1, 1, 2]
    );
    let bucket = |le: &str| {
        value(&format!(
            "portcullis_request_duration_seconds_bucket{{upstream=\"\",le=\"{le}\"}}"
        ))
    };
    // Cumulative: a bucket counts what is at most its bound.
    assert_eq!(bucket("0.0005"), 3, "0, 400 and 500 µs");
    assert_eq!(bucket("0.001"), 4);
    assert_eq!(bucket("0.025"), 5);
    assert_eq!(bucket("30"), 5);
    assert_eq!(bucket("+Inf"), 7);
    assert_eq!(
        value("portcullis_request_duration_seconds_count{upstream=\"\"}"),
        7
    );
    let text = metrics.render();
    assert!(
        text.contains("portcullis_request_duration_seconds_sum{upstream=\"\"} 3631.021401\n"),
        "{text}"
    );
}

#[test]
fn each_upstream_is_its_host_and_path_and_its_place_in_the_route_table() {
    let configured = Configured::new("routes");
    let (routes, metrics) = configured.metrics();
    for (position, upstream) in routes.upstreams().iter().enumerate() {
        assert_eq!(routes.slot(upstream), RouteSlot::upstream(position));
    }
    let copy = routes.upstreams()[0].clone();
    assert_eq!(
        routes.slot(&copy),
        RouteSlot::GATEWAY,
        "not one of the table"
    );

    let api = routes.route(Some("example.org"), "/api/x").unwrap();
    metrics.request(routes.slot(api), 201, Duration::from_millis(3));
    let host = routes.route(Some("app.example.com"), "/api/x").unwrap();
    metrics.upstream_failed(routes.slot(host), UpstreamFailure::Timeout);

    let value = |series: &str| metrics.value(series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(
        value("portcullis_requests_total{upstream=\"/api\",status_class=\"2xx\"}"),
        1
    );
    assert_eq!(
        value("portcullis_requests_total{upstream=\"/\",status_class=\"2xx\"}"),
        0
    );
    assert_eq!(
        value("portcullis_upstream_errors_total{upstream=\"*.example.com/\",kind=\"timeout\"}"),
        1
    );
    assert_eq!(
        value("portcullis_upstream_errors_total{upstream=\"/api\",kind=\"unavailable\"}"),
        0
    );
    assert!(
        !metrics
            .render()
            .contains("portcullis_upstream_errors_total{upstream=\"\""),
        "the gateway's own answers have no upstream to fail"
    );
}

#[test]
fn providers_show_the_outcomes_their_kind_can_have_from_the_start() {
    let configured = Configured::new("providers");
    let (_, metrics) = configured.metrics();
    let text = metrics.render();
    let has = |line: &str| text.lines().any(|l| l == line);

    assert!(has(
        "portcullis_logins_total{provider=\"corp\",outcome=\"success\"} 0"
    ));
    assert!(has(
        "portcullis_logins_total{provider=\"corp\",outcome=\"failure\",reason=\"token_exchange\"} 0"
    ));
    assert!(has(
        "portcullis_logins_total{provider=\"staff\",outcome=\"failure\",reason=\"incorrect_password\"} 0"
    ));
    assert!(has(
        "portcullis_logins_total{provider=\"staff\",outcome=\"failure\",reason=\"not_authorized\"} 0"
    ));
    assert!(!text.contains("provider=\"corp\",outcome=\"failure\",reason=\"csrf\""));
    assert!(!text.contains("provider=\"staff\",outcome=\"failure\",reason=\"token_exchange\""));
    assert!(has(
        "portcullis_refreshes_total{provider=\"corp\",outcome=\"success\"} 0"
    ));
    assert!(has(
        "portcullis_refreshes_total{provider=\"corp\",outcome=\"failure\",reason=\"refused\"} 0"
    ));
    assert!(!text.contains("portcullis_refreshes_total{provider=\"staff\""));
    assert!(has(
        "portcullis_backchannel_logouts_total{provider=\"corp\",outcome=\"accepted\"} 0"
    ));
    assert!(!text.contains("portcullis_backchannel_logouts_total{provider=\"staff\""));
    assert!(!text.contains("provider=\"\""), "no unknown provider yet");
}

#[test]
fn events_move_their_counters_and_unknown_providers_share_one_series() {
    let configured = Configured::new("events");
    let (_, metrics) = configured.metrics();
    metrics.login_succeeded("corp");
    metrics.login_succeeded("corp");
    metrics.login_failed("staff", "incorrect_password");
    metrics.login_failed("corp", "a reason nobody wrote down");
    metrics.login_failed("nowhere", "provider_mismatch");
    metrics.login_failed("elsewhere", "provider_mismatch");
    metrics.refreshed("corp", RefreshOutcome::Success);
    metrics.refreshed("corp", RefreshOutcome::ProviderError);
    metrics.backchannel_logout("corp", LogoutOutcome::Accepted);
    metrics.backchannel_logout("nowhere", LogoutOutcome::Rejected);
    metrics.store_failed(StoreFailure::Protocol);
    metrics.config_reloaded(true);
    metrics.config_reloaded(false);
    metrics.config_reloaded(false);

    let value = |series: &str| metrics.value(series).unwrap_or_else(|| panic!("{series}"));
    assert_eq!(
        value("portcullis_logins_total{provider=\"corp\",outcome=\"success\"}"),
        2
    );
    assert_eq!(
        value("portcullis_logins_total{provider=\"staff\",outcome=\"failure\",reason=\"incorrect_password\"}"),
        1
    );
    assert_eq!(
        value("portcullis_logins_total{provider=\"corp\",outcome=\"failure\",reason=\"other\"}"),
        1
    );
    assert_eq!(
        value("portcullis_logins_total{provider=\"\",outcome=\"failure\",reason=\"provider_mismatch\"}"),
        2
    );
    assert_eq!(
        value("portcullis_refreshes_total{provider=\"corp\",outcome=\"success\"}"),
        1
    );
    assert_eq!(
        value("portcullis_refreshes_total{provider=\"corp\",outcome=\"failure\",reason=\"provider_error\"}"),
        1
    );
    assert_eq!(
        value("portcullis_backchannel_logouts_total{provider=\"corp\",outcome=\"accepted\"}"),
        1
    );
    assert_eq!(
        value("portcullis_backchannel_logouts_total{provider=\"\",outcome=\"rejected\"}"),
        1
    );
    assert_eq!(
        value("portcullis_session_store_errors_total{kind=\"protocol\"}"),
        1
    );
    assert_eq!(
        value("portcullis_session_store_errors_total{kind=\"timeout\"}"),
        0
    );
    assert_eq!(value("portcullis_config_reloads_total{outcome=\"ok\"}"), 1);
    assert_eq!(
        value("portcullis_config_reloads_total{outcome=\"failed\"}"),
        2
    );
}

#[test]
fn every_family_has_help_and_type_once_before_its_samples() {
    let configured = Configured::new("families");
    let (_, metrics) = configured.metrics();
    let text = metrics.render();
    for family in FAMILIES {
        let help = format!("# HELP {family} ");
        let kind = format!("# TYPE {family} ");
        assert_eq!(text.matches(&help).count(), 1, "{family}");
        assert_eq!(text.matches(&kind).count(), 1, "{family}");
        let first_sample = text
            .lines()
            .position(|line| line.starts_with(family) && !line.starts_with('#'))
            .unwrap_or_else(|| panic!("no sample of {family}"));
        let type_line = text
            .lines()
            .position(|line| line.starts_with(&kind))
            .unwrap();
        assert!(type_line < first_sample, "{family}");
    }
    assert!(text.contains(&format!(
        "portcullis_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.ends_with('\n'));
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(
        exposition::Escaped("a\\b\"c\nd").to_string(),
        "a\\\\b\\\"c\\nd"
    );
}

#[test]
fn a_reload_keeps_the_series_still_configured_and_drops_the_others() {
    let configured = Configured::new("relaid");
    let (routes, metrics) = configured.metrics();
    let api = routes
        .upstreams()
        .iter()
        .position(|upstream| upstream.path == "/api")
        .unwrap();
    metrics.request(RouteSlot::upstream(api), 200, Duration::from_millis(1));
    metrics.request(RouteSlot::GATEWAY, 404, Duration::from_millis(1));
    metrics.login_succeeded("corp");
    metrics.store_failed(StoreFailure::Timeout);
    let mut next = configured.config.clone();
    next.upstreams.retain(|upstream| upstream.host.is_none());
    next.providers.retain(|provider| provider.id == "corp");
    let next_routes = RouteTable::new(next.upstreams.clone());

    let relaid = metrics.relaid(next_routes.upstreams(), &next.providers);
    // A request answered on the old configuration after the swap counts in the new series.
    metrics.request(RouteSlot::upstream(api), 200, Duration::from_millis(1));
    relaid.config_reloaded(true);

    let value = |series: &str| relaid.value(series);
    assert_eq!(
        value("portcullis_requests_total{upstream=\"/api\",status_class=\"2xx\"}"),
        Some(2)
    );
    assert_eq!(
        value("portcullis_requests_total{upstream=\"\",status_class=\"4xx\"}"),
        Some(1)
    );
    assert_eq!(
        value("portcullis_logins_total{provider=\"corp\",outcome=\"success\"}"),
        Some(1)
    );
    assert_eq!(
        value("portcullis_session_store_errors_total{kind=\"timeout\"}"),
        Some(1)
    );
    assert_eq!(
        metrics.value("portcullis_config_reloads_total{outcome=\"ok\"}"),
        Some(1),
        "one count for the gateway, whichever layout counted it"
    );
    assert!(
        !relaid.render().contains("*.example.com"),
        "the removed upstream is gone"
    );
    assert!(
        !relaid.render().contains("provider=\"staff\""),
        "the removed provider is gone"
    );
}
