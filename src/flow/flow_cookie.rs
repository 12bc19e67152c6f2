//! The flow cookie: what `/oauth2/start` hands to `/oauth2/callback` in the browser that
//! started the login (DESIGN §1), kept few and small.
//!
//! One cookie per login, `{cookie_name}_flow_{first 16 hex digits of SHA-256(state)}`, so
//! several tabs do not clobber each other. It is scoped to `/oauth2`, so `/oauth2/start`
//! sees the flows already pending in this browser and keeps at most [`MAX_FLOWS`] of them
//! (a new start evicts the oldest), and a callback clears those that expired: abandoned
//! sign-ins can never grow the callback's `Cookie` header past what a reverse proxy accepts
//! (nginx refuses a header line over 8 KB by default).
//!
//! Each cookie stays small: it carries one random 256-bit seed from which the state, the
//! nonce and the PKCE verifier are derived with HKDF-SHA256 (RFC 5869) under distinct labels,
//! so the state the provider sees tells nothing of the verifier; plus the provider id, a
//! bounded `rd` and the creation time, under one-letter field names.

use std::time::Duration;

use axum::http::HeaderValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::redirect::RedirectTarget;
use crate::session::{CookieJar, SessionCodec};

/// Associated data for flow cookies (v2: the seed format).
const FLOW_PURPOSE: &[u8] = b"portcullis flow v2";
/// Flow cookies are sent to `/oauth2/start` (which evicts the oldest) and the callback.
const FLOW_COOKIE_PATH: &str = "/oauth2";
/// Flows pending at once in one browser: enough for a few tabs signing in together.
const MAX_FLOWS: usize = 4;
/// Longest `rd` a flow cookie carries (a longer one keeps only its path, or becomes `/`), so
/// that [`MAX_FLOWS`] cookies stay under about 3.5 KB together.
const MAX_RD_LEN: usize = 512;

/// What a flow cookie carries from `start` to `callback`.
#[derive(Serialize, Deserialize)]
pub(crate) struct FlowState {
    /// 32 random bytes, base64url: the seed of [`FlowSecrets`].
    #[serde(rename = "k")]
    seed: String,
    #[serde(rename = "p")]
    pub(crate) provider: String,
    #[serde(rename = "r")]
    pub(crate) rd: String,
    /// Unix milliseconds: fine enough to tell which of several quick starts is the oldest.
    #[serde(rename = "t")]
    created_ms: u64,
}

/// The per-login secrets of RFC 6749 §10.12 (state), OpenID Connect Core §3.1.2.1 (nonce)
/// and RFC 7636 §4.1 (code verifier: 43 characters of base64url, 256 bits).
pub(crate) struct FlowSecrets {
    pub(crate) state: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
}

impl FlowState {
    /// A new flow with a fresh random seed, created now.
    pub(crate) fn new(provider: &str, rd: &RedirectTarget, allowed_hosts: &[String]) -> FlowState {
        let mut seed = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut seed);
        FlowState {
            seed: URL_SAFE_NO_PAD.encode(seed),
            provider: provider.to_owned(),
            rd: bounded_rd(rd, allowed_hosts).as_str().to_owned(),
            created_ms: unix_now_ms(),
        }
    }

    /// Unix seconds.
    pub(crate) fn created_at(&self) -> u64 {
        self.created_ms / 1000
    }

    /// The state, nonce and verifier of this flow; `None` for a seed that is not 32 bytes.
    pub(crate) fn secrets(&self) -> Option<FlowSecrets> {
        let seed = URL_SAFE_NO_PAD.decode(&self.seed).ok()?;
        if seed.len() != 32 {
            return None;
        }
        let hkdf = Hkdf::<Sha256>::new(None, &seed);
        let derive = |label: &[u8]| -> Option<String> {
            let mut out = [0u8; 32];
            hkdf.expand(label, &mut out).ok()?;
            Some(URL_SAFE_NO_PAD.encode(out))
        };
        Some(FlowSecrets {
            state: derive(b"portcullis flow state")?,
            nonce: derive(b"portcullis flow nonce")?,
            pkce_verifier: derive(b"portcullis flow pkce verifier")?,
        })
    }

    pub(crate) fn seal(&self, codec: &SessionCodec) -> Result<String, serde_json::Error> {
        Ok(codec.seal(FLOW_PURPOSE, &serde_json::to_vec(self)?))
    }

    /// Opens a flow cookie's value; `None` for anything the gateway did not seal as one.
    pub(crate) fn open(codec: &SessionCodec, sealed: &str) -> Option<FlowState> {
        let json = codec.open(FLOW_PURPOSE, sealed)?;
        serde_json::from_slice(&json).ok()
    }
}

/// `rd` as the flow keeps it: whole when short, else its path alone when that is short,
/// else `/`.
fn bounded_rd(rd: &RedirectTarget, allowed_hosts: &[String]) -> RedirectTarget {
    if rd.as_str().len() <= MAX_RD_LEN {
        return rd.clone();
    }
    let path = rd.as_str().split(['?', '#']).next().unwrap_or_default();
    if path.len() <= MAX_RD_LEN {
        RedirectTarget::parse(Some(path), allowed_hosts)
    } else {
        RedirectTarget::root()
    }
}

/// `{cookie_name}_flow_{first 16 hex digits of SHA-256(state)}`.
pub(crate) fn flow_cookie_name(cookie_name: &str, state: &str) -> String {
    let digest = Sha256::digest(state.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{}{hex}", flow_prefix(cookie_name))
}

fn flow_prefix(cookie_name: &str) -> String {
    format!("{cookie_name}_flow_")
}

/// The `Set-Cookie` values of a start: the new flow's cookie, and the deletion of the
/// pending flows beyond the newest `MAX_FLOWS - 1` (and of expired or foreign ones).
pub(crate) fn start_cookies(
    jar: &CookieJar<'_>,
    codec: &SessionCodec,
    timeout: Duration,
    state: &str,
    sealed: &str,
) -> Vec<HeaderValue> {
    let cookie_name = &jar.settings().name;
    let stale = stale_flow_cookies(jar, codec, None, timeout, MAX_FLOWS.saturating_sub(1));
    let mut out: Vec<HeaderValue> = stale
        .iter()
        .map(|name| jar.expire(name, FLOW_COOKIE_PATH))
        .collect();
    out.push(jar.build(
        &flow_cookie_name(cookie_name, state),
        sealed,
        FLOW_COOKIE_PATH,
        Some(timeout),
    ));
    out
}

/// The `Set-Cookie` values of a callback: the deletion of its own flow cookie `own` (when
/// sent) and of other flows that expired or do not open; other tabs' live flows stay.
pub(crate) fn callback_cookies(
    jar: &CookieJar<'_>,
    codec: &SessionCodec,
    timeout: Duration,
    own: Option<&str>,
) -> Vec<HeaderValue> {
    let mut out: Vec<HeaderValue> = own
        .filter(|name| jar.get(name).is_some())
        .map(|name| jar.expire(name, FLOW_COOKIE_PATH))
        .into_iter()
        .collect();
    for name in stale_flow_cookies(jar, codec, own, timeout, usize::MAX) {
        out.push(jar.expire(&name, FLOW_COOKIE_PATH));
    }
    out
}

/// The names of the flow cookies of this request that should go: those that do not open,
/// those older than `timeout`, and beyond the `keep` newest of the rest; never `except`.
fn stale_flow_cookies(
    jar: &CookieJar<'_>,
    codec: &SessionCodec,
    except: Option<&str>,
    timeout: Duration,
    keep: usize,
) -> Vec<String> {
    let prefix = flow_prefix(&jar.settings().name);
    let flows = jar
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix) && Some(*name) != except)
        .map(|(name, value)| {
            let created_ms = FlowState::open(codec, value).map(|flow| flow.created_ms);
            (name.to_owned(), created_ms)
        })
        .collect();
    let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    to_evict(flows, unix_now_ms(), timeout_ms, keep)
}

/// The eviction rule of [`stale_flow_cookies`], on `(name, creation time if it opened)`,
/// all times in the same unit.
fn to_evict(flows: Vec<(String, Option<u64>)>, now: u64, timeout: u64, keep: usize) -> Vec<String> {
    let (mut live, mut evict): (Vec<_>, Vec<_>) = flows
        .into_iter()
        .partition(|(_, created)| created.is_some_and(|t| now.saturating_sub(t) <= timeout));
    live.sort_by_key(|(_, created)| std::cmp::Reverse(*created));
    evict.extend(live.into_iter().skip(keep));
    let mut names: Vec<String> = evict.into_iter().map(|(name, _)| name).collect();
    names.sort();
    names.dedup();
    names
}

fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> SessionCodec {
        SessionCodec::new(&[3u8; 32], &[])
    }

    #[test]
    fn secrets_are_distinct_well_formed_and_follow_the_seed() {
        let flow = FlowState::new("mock", &RedirectTarget::root(), &[]);
        let secrets = flow.secrets().unwrap();
        let again = FlowState::open(&codec(), &flow.seal(&codec()).unwrap())
            .unwrap()
            .secrets()
            .unwrap();
        assert_eq!(secrets.state, again.state);
        assert_eq!(secrets.nonce, again.nonce);
        assert_eq!(secrets.pkce_verifier, again.pkce_verifier);
        assert_ne!(secrets.state, secrets.nonce);
        assert_ne!(secrets.state, secrets.pkce_verifier);
        assert_ne!(secrets.nonce, secrets.pkce_verifier);
        assert_eq!(secrets.pkce_verifier.len(), 43);
        let other = FlowState::new("mock", &RedirectTarget::root(), &[])
            .secrets()
            .unwrap();
        assert_ne!(secrets.state, other.state);
    }

    #[test]
    fn a_flow_sealed_for_another_purpose_does_not_open() {
        let sealed = codec().seal(b"portcullis session v1", b"{}");
        assert!(FlowState::open(&codec(), &sealed).is_none());
    }

    #[test]
    fn long_destinations_are_cut_to_their_path_or_the_root() {
        let rd = |raw: &str| RedirectTarget::parse(Some(raw), &[]);
        let short = rd("/a?b=c");
        assert_eq!(bounded_rd(&short, &[]), short);
        let long_query = rd(&format!("/report?q={}", "x".repeat(600)));
        assert_eq!(bounded_rd(&long_query, &[]).as_str(), "/report");
        let long_path = rd(&format!("/{}", "x".repeat(600)));
        assert_eq!(bounded_rd(&long_path, &[]).as_str(), "/");
    }

    #[test]
    fn eviction_keeps_the_newest_live_flows() {
        let flows = vec![
            ("a".to_owned(), Some(100)),
            ("b".to_owned(), Some(400)),
            ("c".to_owned(), None),
            ("d".to_owned(), Some(300)),
            ("e".to_owned(), Some(200)),
            ("f".to_owned(), Some(10)),
        ];
        // now 500, timeout 450: f expired, c does not open, keep the 3 newest of a b d e.
        assert_eq!(to_evict(flows.clone(), 500, 450, 3), vec!["a", "c", "f"]);
        assert_eq!(to_evict(flows, 500, 450, usize::MAX), vec!["c", "f"]);
    }
}
