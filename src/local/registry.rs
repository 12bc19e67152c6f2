//! The configured local providers, their users and failure limits, and the gateway's token
//! keys; built once at start-up and shared through the state.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::client_address::client_key;
use crate::config::{load_users, ConfigErrors, LocalAccounts, LocalUser, ProviderConfig};
use crate::identity::Identity;
use crate::local::accounts::{Accounts, Verdict, RELOAD_EVERY};
use crate::local::tokens::{AccessClaims, InvalidToken, TokenKeyError, TokenKeys};
use crate::rate_limit::{FailureLimit, RetryAfter};

/// Why the local providers could not be built at start-up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LocalBuildError {
    #[error("the users file of provider `{provider}` cannot be used:\n{errors}")]
    Users {
        provider: String,
        errors: ConfigErrors,
    },
    #[error("the token signing keys cannot be derived from the session secret")]
    Keys(#[source] TokenKeyError),
}

/// Every `kind = "local"` provider, in configuration order, and the keys their access tokens
/// are signed with.
pub(crate) struct LocalProviders {
    providers: Vec<Arc<LocalProvider>>,
    keys: TokenKeys,
    /// `iss` of the tokens: the public URL without a trailing slash.
    issuer: String,
}

impl std::fmt::Debug for LocalProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.providers.iter().map(|p| p.id.as_str()).collect();
        f.debug_struct("LocalProviders")
            .field("providers", &ids)
            .finish_non_exhaustive()
    }
}

/// One local provider.
pub(crate) struct LocalProvider {
    pub(crate) id: String,
    /// The sign-in form's heading.
    pub(crate) name: String,
    pub(crate) settings: LocalAccounts,
    pub(crate) accounts: Arc<Accounts>,
    /// Shared with the provider of the same id and limits after a reload, so a reload does
    /// not forgive failed attempts.
    per_username: Arc<FailureLimit>,
    per_client: Arc<FailureLimit>,
}

/// What one username/password attempt came to.
pub(crate) enum Attempt {
    Valid(Arc<LocalUser>),
    /// Unknown user or wrong password: one answer for both.
    Incorrect,
    /// The right password of a disabled user.
    Inactive,
    /// Too many failures for this username or this client: nothing was checked.
    Limited(RetryAfter),
}

impl LocalProviders {
    /// The local providers of `configs`; `secret` and `previous` are the session secrets the
    /// token keys derive from. `running` are the providers before a reload: one of the same
    /// id and `failed_logins` hands its failure counts on.
    pub(crate) fn new(
        configs: &[ProviderConfig],
        public_url: &str,
        secret: &[u8],
        previous: &[&[u8]],
        running: Option<&LocalProviders>,
    ) -> Result<LocalProviders, LocalBuildError> {
        let mut providers = Vec::new();
        for config in configs {
            let Some(settings) = config.local() else {
                continue;
            };
            let users =
                load_users(&settings.users_file).map_err(|errors| LocalBuildError::Users {
                    provider: config.id.clone(),
                    errors,
                })?;
            let limits = settings.failed_logins;
            let carried = running
                .and_then(|running| running.get(&config.id))
                .filter(|old| old.settings.failed_logins == limits);
            let (per_username, per_client) = match carried {
                Some(old) => (Arc::clone(&old.per_username), Arc::clone(&old.per_client)),
                None => (
                    Arc::new(FailureLimit::new(limits.per_username, limits.window)),
                    Arc::new(FailureLimit::new(limits.per_client, limits.window)),
                ),
            };
            providers.push(Arc::new(LocalProvider {
                id: config.id.clone(),
                name: config.name.clone(),
                accounts: Arc::new(Accounts::new(settings.users_file.clone(), users)),
                per_username,
                per_client,
                settings: settings.clone(),
            }));
        }
        Ok(LocalProviders {
            providers,
            keys: TokenKeys::derive(secret, previous).map_err(LocalBuildError::Keys)?,
            issuer: public_url.to_owned(),
        })
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Arc<LocalProvider>> {
        self.providers.iter().find(|p| p.id == id)
    }

    /// In configuration order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<LocalProvider>> {
        self.providers.iter()
    }

    /// The providers whose token endpoint is on (`password_grant = true`).
    pub(crate) fn granting(&self) -> impl Iterator<Item = &Arc<LocalProvider>> {
        self.providers.iter().filter(|p| p.settings.password_grant)
    }

    pub(crate) fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Starts watching every users file (DESIGN §10: a change is in effect within 5 s).
    pub(crate) fn spawn_watch(&self) {
        for provider in &self.providers {
            provider.accounts.spawn_watch(RELOAD_EVERY);
        }
    }

    /// Whether `token` claims to come from the gateway itself (its `iss` is the public URL),
    /// and a provider issues such tokens; its signature is checked by [`Self::authenticate`].
    pub(crate) fn issued(&self, iss: &str) -> bool {
        iss == self.issuer && self.granting().next().is_some()
    }

    /// The person a gateway-signed access token names, while they are still an active user
    /// of the provider that issued it (disabled or removed: refused at once, not at expiry).
    pub(crate) fn authenticate(&self, token: &str, now: u64) -> Result<Identity, InvalidAccess> {
        let audiences: Vec<&str> = self.granting().map(|p| p.id.as_str()).collect();
        let claims = self
            .keys
            .verify(token, &self.issuer, &audiences, now)
            .map_err(InvalidAccess::Token)?;
        let provider = self.get(&claims.aud).ok_or(InvalidAccess::InactiveUser)?;
        provider
            .accounts
            .active(&claims.sub)
            .ok_or(InvalidAccess::InactiveUser)?;
        Ok(identity_of(claims))
    }
}

/// Why a gateway-signed access token is refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidAccess {
    #[error(transparent)]
    Token(InvalidToken),
    #[error("its user is disabled or no longer in the users file")]
    InactiveUser,
}

fn identity_of(claims: AccessClaims) -> Identity {
    Identity {
        user: claims.sub,
        email: claims.email,
        preferred_username: claims.preferred_username,
        groups: claims.groups,
        provider: claims.aud,
    }
}

impl LocalProvider {
    /// One username/password attempt from `client`: refused unchecked when either limit is
    /// reached; a wrong password (or unknown user) counts against both, a correct one clears
    /// the username's count.
    pub(crate) async fn attempt(&self, username: &str, password: &str, client: IpAddr) -> Attempt {
        let user_key = username.to_ascii_lowercase();
        let client_key = client_key(client);
        let now = Instant::now();
        let limited = [
            self.per_username.check(&user_key, now),
            self.per_client.check(&client_key, now),
        ];
        if let Some(retry) = limited
            .into_iter()
            .filter_map(Result::err)
            .max_by_key(|retry| retry.0)
        {
            return Attempt::Limited(retry);
        }
        match self.accounts.verify(username, password).await {
            Verdict::Valid(user) => {
                self.per_username.clear(&user_key);
                Attempt::Valid(user)
            }
            Verdict::Inactive => Attempt::Inactive,
            Verdict::Incorrect => {
                let now = Instant::now();
                self.per_username.fail(&user_key, now);
                self.per_client.fail(&client_key, now);
                Attempt::Incorrect
            }
        }
    }

    /// Who `user` is to upstreams: the username as the user id and preferred username, the
    /// email as verified (the operator wrote it), the groups, this provider.
    pub(crate) fn identity(&self, user: &LocalUser) -> Identity {
        Identity {
            user: user.username.clone(),
            email: user.email.clone(),
            preferred_username: Some(user.username.clone()),
            groups: user.groups.clone(),
            provider: self.id.clone(),
        }
    }
}
