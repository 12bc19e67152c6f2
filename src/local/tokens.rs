// TEMPORARY STUB (replaced by the real module on merge)
#![allow(dead_code, unused_variables)]
use serde::{Deserialize, Serialize};
#[derive(Debug)]
pub(crate) struct TokenKeys;
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub(crate) struct TokenKeyError;
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub(crate) struct TokenSignError;
#[derive(Debug, thiserror::Error)]
#[error("x")]
pub(crate) struct InvalidToken;
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) sub: String,
    pub(crate) email: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) preferred_username: Option<String>,
    pub(crate) groups: Vec<String>,
    pub(crate) exp: u64,
    pub(crate) iat: u64,
    pub(crate) jti: String,
    pub(crate) client_id: Option<String>,
    pub(crate) scope: Option<String>,
}
impl TokenKeys {
    pub(crate) fn derive(secret: &[u8], previous: &[&[u8]]) -> Result<TokenKeys, TokenKeyError> {
        Ok(TokenKeys)
    }
    pub(crate) fn jwks(&self) -> &serde_json::Value {
        unimplemented!()
    }
    pub(crate) fn sign(&self, claims: &AccessClaims) -> Result<String, TokenSignError> {
        Err(TokenSignError)
    }
    pub(crate) fn verify(
        &self,
        token: &str,
        issuer: &str,
        audiences: &[&str],
        now: u64,
    ) -> Result<AccessClaims, InvalidToken> {
        Err(InvalidToken)
    }
}
pub(crate) fn new_jti() -> String {
    String::new()
}
