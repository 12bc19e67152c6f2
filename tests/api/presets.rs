//! The provider presets (issue 4): for each kind, an in-test fake that answers as the real
//! provider documents, the happy path and rejections; and a sign-in page with several
//! providers. Google, GitLab and Keycloak run against the mock OpenID provider with their
//! own claims; Microsoft, GitHub and plain OAuth 2.0 against `fake.rs`.

mod fake;
mod github;
mod gitlab;
mod google;
mod keycloak;
mod microsoft;
mod oauth2;
mod sign_in;
