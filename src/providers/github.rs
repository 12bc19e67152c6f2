//! GitHub and GitHub Enterprise Server: OAuth app endpoints and the identity from the REST
//! API (GitHub is not an OpenID provider for users).
//!
//! Sources: GitHub Docs "Authorizing OAuth apps" (`{base}/login/oauth/authorize`,
//! `{base}/login/oauth/access_token`, errors answered with 200), REST "Users" (`GET /user`),
//! "Emails" (`GET /user/emails`: `email`, `primary`, `verified`), "Organizations"
//! (`GET /user/orgs`), "Teams" (`GET /user/teams`: `slug`, `organization.login`) and "Using
//! pagination in the REST API" (`Link: <…>; rel="next"`). The API is `https://api.github.com`
//! for github.com and `{base}/api/v3` for Enterprise Server.

use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use crate::config::GithubConfig;
use crate::error::LoginError;
use crate::identity::Identity;
use crate::providers::api::{get_json_with_headers, ApiError};

/// More pages than this of orgs, teams or emails are a misbehaving API, not a user.
const MAX_PAGES: usize = 50;

/// Why a user's organization and team memberships could not be confirmed, at login or when
/// a session's groups are read again.
#[derive(Debug, thiserror::Error)]
pub(crate) enum MembershipError {
    /// GitHub refused the access token with 401: the user or an owner revoked it, or (GitHub
    /// Apps with expiring user tokens) it expired.
    #[error("GitHub refused the access token ({0})")]
    TokenRefused(String),
    /// The user is not, or no longer, in one of the required `orgs` or `teams`.
    #[error("{0}")]
    NotMember(String),
    /// No usable answer: GitHub unreachable, a timeout, a 5xx, a rate limit (403/429), or
    /// JSON of an unexpected shape.
    #[error("GitHub API: {0}")]
    Unavailable(String),
}

impl MembershipError {
    /// Whether the answer is about the user or the token (the session must end), rather
    /// than about GitHub being unable to answer right now.
    pub(crate) fn ends_session(&self) -> bool {
        !matches!(self, MembershipError::Unavailable(_))
    }
}

impl From<MembershipError> for LoginError {
    fn from(error: MembershipError) -> LoginError {
        match error {
            MembershipError::NotMember(reason) => LoginError::NotAuthorized(reason),
            refused_or_unavailable => LoginError::Userinfo(refused_or_unavailable.to_string()),
        }
    }
}

/// The authorization and token endpoints.
pub(crate) fn oauth_endpoints(config: &GithubConfig) -> (Url, Url) {
    let base = config.base_url.as_str().trim_end_matches('/');
    let parse = |path: &str| {
        Url::parse(&format!("{base}{path}")).unwrap_or_else(|_| config.base_url.clone())
    };
    (
        parse("/login/oauth/authorize"),
        parse("/login/oauth/access_token"),
    )
}

/// `https://api.github.com` for github.com, else `{base}/api/v3`; without a trailing `/`.
pub(crate) fn api_base(config: &GithubConfig) -> String {
    if config.base_url.host_str() == Some("github.com") {
        "https://api.github.com".to_owned()
    } else {
        format!("{}/api/v3", config.base_url.as_str().trim_end_matches('/'))
    }
}

/// The signed-in user: id and login from `/user`, the primary email only when verified
/// (otherwise the login is refused), and [`groups`].
pub(crate) async fn identity(
    http: &reqwest::Client,
    config: &GithubConfig,
    access_token: &str,
    provider: &str,
) -> Result<Identity, LoginError> {
    let api = api_base(config);
    let api_error = |err: ApiError| LoginError::Userinfo(format!("GitHub API: {err}"));
    let user = get_pages(http, &api, "/user", access_token, false)
        .await
        .map_err(api_error)?;
    let user = user.first().cloned().unwrap_or_default();
    let id = match user.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(api_error("/user has no numeric id".to_owned().into())),
    };
    let login = user.get("login").and_then(Value::as_str).map(str::to_owned);

    let emails = get_pages(http, &api, "/user/emails", access_token, true)
        .await
        .map_err(api_error)?;
    let primary = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true));
    let email = match primary {
        Some(e) if e.get("verified").and_then(Value::as_bool) == Some(true) => e
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| api_error("the primary email has no address".to_owned().into()))?,
        Some(_) => {
            return Err(LoginError::NotAuthorized(
                "the GitHub account's primary email address is not verified".into(),
            ))
        }
        None => {
            return Err(LoginError::NotAuthorized(
                "the GitHub account has no primary email address".into(),
            ))
        }
    };

    Ok(Identity {
        user: id,
        email: Some(email),
        preferred_username: login,
        groups: groups(http, config, access_token).await?,
        provider: provider.to_owned(),
    })
}

/// The user's groups, `org` and `org/team`, from every page of `/user/orgs` and
/// `/user/teams`, provided they meet the `orgs` / `teams` restrictions. Read at login and
/// again during a session (`membership_refresh`), with the same access token.
pub(crate) async fn groups(
    http: &reqwest::Client,
    config: &GithubConfig,
    access_token: &str,
) -> Result<Vec<String>, MembershipError> {
    let api = api_base(config);
    let api_error = |err: ApiError| match err.status {
        Some(StatusCode::UNAUTHORIZED) => MembershipError::TokenRefused(err.detail),
        _ => MembershipError::Unavailable(err.detail),
    };
    let orgs: Vec<String> = get_pages(http, &api, "/user/orgs", access_token, true)
        .await
        .map_err(api_error)?
        .iter()
        .filter_map(|org| org.get("login").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let teams: Vec<String> = get_pages(http, &api, "/user/teams", access_token, true)
        .await
        .map_err(api_error)?
        .iter()
        .filter_map(|team| {
            let org = team.pointer("/organization/login")?.as_str()?;
            let slug = team.get("slug")?.as_str()?;
            Some(format!("{org}/{slug}"))
        })
        .collect();
    check_membership(config, &orgs, &teams)?;

    let mut groups = orgs;
    groups.extend(teams);
    Ok(groups)
}

/// Reading a session's groups again during the session (`membership_refresh`).
pub(crate) struct MembershipCheck<'a> {
    http: &'a reqwest::Client,
    config: &'a GithubConfig,
}

impl<'a> MembershipCheck<'a> {
    pub(crate) fn new(http: &'a reqwest::Client, config: &'a GithubConfig) -> MembershipCheck<'a> {
        MembershipCheck { http, config }
    }

    /// How long a check holds: `membership_refresh`.
    pub(crate) fn interval(&self) -> std::time::Duration {
        self.config.membership_refresh
    }

    /// [`groups`] with the session's access token, exactly as at login.
    pub(crate) async fn groups(&self, access_token: &str) -> Result<Vec<String>, MembershipError> {
        groups(self.http, self.config, access_token).await
    }
}

/// `orgs` and `teams`, when set, each need one match (case-insensitive, as GitHub's names).
fn check_membership(
    config: &GithubConfig,
    orgs: &[String],
    teams: &[String],
) -> Result<(), MembershipError> {
    let member = |allowed: &[String], have: &[String]| {
        allowed.is_empty()
            || have
                .iter()
                .any(|name| allowed.contains(&name.to_ascii_lowercase()))
    };
    if !member(&config.orgs, orgs) {
        return Err(MembershipError::NotMember(format!(
            "not a member of the GitHub organizations {}",
            config.orgs.join(", ")
        )));
    }
    if !member(&config.teams, teams) {
        return Err(MembershipError::NotMember(format!(
            "not a member of the GitHub teams {}",
            config.teams.join(", ")
        )));
    }
    Ok(())
}

/// `path` from the API; for lists, every page (`per_page=100`), following `rel="next"` only
/// to URLs under the same API base, so the token is never sent elsewhere.
async fn get_pages(
    http: &reqwest::Client,
    api: &str,
    path: &str,
    access_token: &str,
    list: bool,
) -> Result<Vec<Value>, ApiError> {
    let first = if list {
        format!("{api}{path}?per_page=100")
    } else {
        format!("{api}{path}")
    };
    let mut next = Some(Url::parse(&first).map_err(|err| err.to_string())?);
    let mut items = Vec::new();
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        if pages > MAX_PAGES {
            return Err(format!("{path} has more than {MAX_PAGES} pages").into());
        }
        let (json, headers) = get_json_with_headers(http, &url, access_token).await?;
        match json {
            Value::Array(page) if list => items.extend(page),
            Value::Object(_) if !list => return Ok(vec![json]),
            _ => return Err(format!("{path} answered an unexpected JSON shape").into()),
        }
        next = headers
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(next_link)
            .and_then(|link| Url::parse(&link).ok())
            .filter(|link| link.as_str().starts_with(&format!("{api}/")));
    }
    Ok(items)
}

/// The `rel="next"` target of an RFC 8288 `Link` header value.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|param| {
            param.trim().split_once('=').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            })
        });
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_yield_the_next_page() {
        let header = r#"<https://api.github.com/user/teams?per_page=100&page=2>; rel="next", <https://api.github.com/user/teams?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/user/teams?per_page=100&page=2")
        );
        let last = r#"<https://api.github.com/user/teams?page=1>; rel="prev", <https://api.github.com/user/teams?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn the_api_is_api_github_com_or_enterprise_v3() {
        let config = |base: &str| GithubConfig {
            base_url: Url::parse(base).unwrap(),
            orgs: vec![],
            teams: vec![],
            membership_refresh: std::time::Duration::from_secs(3600),
        };
        assert_eq!(
            api_base(&config("https://github.com")),
            "https://api.github.com"
        );
        assert_eq!(
            api_base(&config("https://git.example.com")),
            "https://git.example.com/api/v3"
        );
        let (authorize, token) = oauth_endpoints(&config("https://github.com"));
        assert_eq!(
            authorize.as_str(),
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(
            token.as_str(),
            "https://github.com/login/oauth/access_token"
        );
    }

    #[test]
    fn only_a_refused_token_or_a_lost_membership_ends_a_session() {
        assert!(MembershipError::TokenRefused("401 from /user/orgs".into()).ends_session());
        assert!(MembershipError::NotMember("not a member".into()).ends_session());
        assert!(!MembershipError::Unavailable("503 from /user/orgs".into()).ends_session());
        assert!(matches!(
            LoginError::from(MembershipError::NotMember("not a member".into())),
            LoginError::NotAuthorized(_)
        ));
        assert!(matches!(
            LoginError::from(MembershipError::TokenRefused("401".into())),
            LoginError::Userinfo(_)
        ));
    }

    #[test]
    fn org_and_team_restrictions_each_need_a_match() {
        let config = GithubConfig {
            base_url: Url::parse("https://github.com").unwrap(),
            orgs: vec!["acme".into()],
            teams: vec!["acme/platform".into()],
            membership_refresh: std::time::Duration::from_secs(3600),
        };
        let orgs = ["Acme".to_owned()];
        assert!(check_membership(&config, &orgs, &["acme/Platform".to_owned()]).is_ok());
        assert!(check_membership(&config, &orgs, &["acme/web".to_owned()]).is_err());
        assert!(check_membership(
            &config,
            &["other".to_owned()],
            &["acme/platform".to_owned()]
        )
        .is_err());
    }
}
