//! A `[[provider]]` of kind `local` (DESIGN §10): the users file, the password grant, the
//! lifetimes of the tokens the gateway signs, the token endpoint's clients and the limits on
//! failed logins. The keys of the other kinds, which sign in elsewhere, are refused here.

use std::path::Path;
use std::time::Duration;

use secrecy::SecretString;
use toml::Spanned;

use super::clients::Protocol;
use super::Checker;
use crate::config::raw::{RawFailedLogins, RawProvider, RawTokenClient, Text};
use crate::config::{parse_users, FailedLoginLimits, LocalAccounts, TokenClient};

const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Access tokens are checked without a revocation list: a stolen one works until it expires,
/// so their lifetime is bounded.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
const MAX_REFRESH_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

impl Checker<'_, '_> {
    /// The settings of a `local` provider, with the keys that do not apply to it refused.
    pub(super) fn local_client(
        &mut self,
        raw: &RawProvider,
        table: &str,
    ) -> Option<(String, Protocol)> {
        let key = |field: &str| format!("{table}.{field}");
        let mut complete = true;
        let table_start = self.places.table_start(table);
        let foreign: [(&str, Option<usize>); 5] = [
            ("client_id", raw.client_id.as_ref().map(|t| t.span().start)),
            (
                "client_secret",
                raw.client_secret.as_ref().map(|t| t.span().start),
            ),
            (
                "scopes",
                raw.scopes
                    .as_ref()
                    .map(|s| s.first().map_or(table_start, |t| t.span().start)),
            ),
            (
                "token_endpoint_auth",
                raw.token_endpoint_auth.as_ref().map(|t| t.span().start),
            ),
            ("bearer", raw.bearer.as_ref().map(|_| table_start)),
        ];
        for (field, offset) in foreign {
            let Some(offset) = offset else { continue };
            let why = match field {
                "bearer" => {
                    "the access tokens a \"local\" provider issues are accepted as bearer \
                     tokens without it"
                }
                "scopes" => "a \"local\" provider asks no one for scopes",
                _ => "a \"local\" provider signs people in itself, with no client at another provider",
            };
            self.error(
                offset,
                &key(field),
                format!("`{field}` does not apply to kind \"local\": {why}; remove it"),
            );
            complete = false;
        }
        let users_file = self
            .required(
                raw.users_file.as_ref(),
                table,
                &key("users_file"),
                "`users_file` is required for kind \"local\": the TOML file of [[user]] entries, \
                 like users_file = \"users.toml\" (relative to this file's directory)",
            )
            .and_then(|text| {
                let offset = text.offset;
                let path = self.file_path(text, &key("users_file"))?;
                self.users_file(&path, offset, &key("users_file"))
                    .then_some(path)
            });
        let token_lifetime = self.lifetime(
            raw.token_lifetime.as_ref(),
            &key("token_lifetime"),
            DEFAULT_TOKEN_LIFETIME,
            MAX_TOKEN_LIFETIME,
        );
        let refresh_lifetime = self.lifetime(
            raw.refresh_lifetime.as_ref(),
            &key("refresh_lifetime"),
            DEFAULT_REFRESH_LIFETIME,
            MAX_REFRESH_LIFETIME,
        );
        if let (Some(access), Some(refresh), Some(text)) = (
            token_lifetime,
            refresh_lifetime,
            raw.refresh_lifetime.as_ref(),
        ) {
            if refresh < access {
                self.error(
                    text.span().start,
                    &key("refresh_lifetime"),
                    "`refresh_lifetime` must be at least `token_lifetime`: a refresh token that \
                     expires before its access token renews nothing",
                );
                complete = false;
            }
        }
        let clients = self.token_clients(raw.clients.as_deref(), &key("clients"));
        let failed_logins = match &raw.failed_logins {
            None => Some(FailedLoginLimits::default()),
            Some(raw) => self.failed_logins(raw, &key("failed_logins")),
        };
        let local = LocalAccounts {
            users_file: users_file?,
            password_grant: raw.password_grant.unwrap_or(false),
            token_lifetime: token_lifetime?,
            refresh_lifetime: refresh_lifetime?,
            clients: clients?,
            failed_logins: failed_logins?,
        };
        complete.then_some((String::new(), Protocol::Local(local)))
    }

    /// Whether the users file at `path` reads and is valid; its own problems are listed with
    /// their place in it.
    fn users_file(&mut self, path: &Path, offset: usize, key: &str) -> bool {
        match std::fs::read_to_string(path) {
            Err(err) => {
                self.error(
                    offset,
                    key,
                    format!(
                        "the users file {} cannot be read ({err}): create it with [[user]] \
                         entries (passwords hashed by `portcullis hash-password`) or fix the path",
                        path.display()
                    ),
                );
                false
            }
            Ok(source) => match parse_users(&source, &path.display().to_string()) {
                Ok(_) => true,
                Err(errors) => {
                    self.diagnostics.extend(errors);
                    false
                }
            },
        }
    }

    fn lifetime(
        &mut self,
        raw: Option<&Text>,
        key: &str,
        default: Duration,
        max: Duration,
    ) -> Option<Duration> {
        let Some(raw) = raw else {
            return Some(default);
        };
        let text = self.text(raw, key)?;
        let duration = self.duration(&text, key)?;
        if duration > max {
            self.error(
                text.offset,
                key,
                format!(
                    "`{}` is longer than the most this lifetime may be, {}",
                    text.value,
                    humantime::format_duration(max)
                ),
            );
            return None;
        }
        Some(duration)
    }

    /// Each client with an id and a secret; ids unique.
    fn token_clients(
        &mut self,
        raw: Option<&[RawTokenClient]>,
        key: &str,
    ) -> Option<Vec<TokenClient>> {
        let mut clients: Vec<TokenClient> = Vec::new();
        let mut complete = true;
        for (index, raw) in raw.unwrap_or_default().iter().enumerate() {
            let table = format!("{key}[{index}]");
            let id = self
                .required(
                    raw.id.as_ref(),
                    &table,
                    &format!("{table}.id"),
                    "a client needs an `id`: the client_id it authenticates with",
                )
                .and_then(|text| self.non_empty(text, &format!("{table}.id")));
            let secret = self
                .required(
                    raw.secret.as_ref(),
                    &table,
                    &format!("{table}.secret"),
                    "a client needs a `secret`, preferably as \"${VARIABLE}\"",
                )
                .and_then(|text| self.client_secret(text, &format!("{table}.secret")));
            match (id, secret) {
                (Some(id), Some(_)) if clients.iter().any(|c| c.id == id) => {
                    let offset = raw.id.as_ref().map_or(0, |t| t.span().start);
                    self.error(
                        offset,
                        &format!("{table}.id"),
                        format!("duplicate client id `{id}`: every client needs its own id"),
                    );
                    complete = false;
                }
                (Some(id), Some(secret)) => clients.push(TokenClient { id, secret }),
                _ => complete = false,
            }
        }
        complete.then_some(clients)
    }

    /// At least 16 characters: the secret is all that stands between a client's name and its
    /// tokens.
    fn client_secret(&mut self, text: super::Str, key: &str) -> Option<SecretString> {
        if text.value.chars().count() < 16 {
            self.error(
                text.offset,
                key,
                "a client secret must be at least 16 characters; make one with `portcullis \
                 secret`",
            );
            return None;
        }
        Some(SecretString::from(text.value))
    }

    fn failed_logins(&mut self, raw: &RawFailedLogins, key: &str) -> Option<FailedLoginLimits> {
        let defaults = FailedLoginLimits::default();
        let per_username = self.attempts(
            raw.per_username.as_ref(),
            &format!("{key}.per_username"),
            defaults.per_username,
        );
        let per_client = self.attempts(
            raw.per_client.as_ref(),
            &format!("{key}.per_client"),
            defaults.per_client,
        );
        let window = match &raw.window {
            None => Some(defaults.window),
            Some(raw) => {
                let key = format!("{key}.window");
                self.text(raw, &key)
                    .and_then(|text| self.duration(&text, &key))
            }
        };
        Some(FailedLoginLimits {
            per_username: per_username?,
            per_client: per_client?,
            window: window?,
        })
    }

    fn attempts(&mut self, raw: Option<&Spanned<i64>>, key: &str, default: u32) -> Option<u32> {
        let Some(raw) = raw else {
            return Some(default);
        };
        match u32::try_from(*raw.get_ref()) {
            Ok(count) if count >= 1 => Some(count),
            _ => {
                self.error(
                    raw.span().start,
                    key,
                    format!(
                        "`{}` is not a number of attempts: write a whole number of at least 1",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }
}
