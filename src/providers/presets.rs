//! What the OpenID Connect presets add to the common code path: Google's hosted domain, the
//! Entra ID tenant template and groups overage, GitLab's and Keycloak's group claims.
//!
//! Sources: Google "OpenID Connect" (`hd` parameter and claim); Microsoft identity platform
//! "ID token claims reference" and "Validate tokens" (the `{tenantid}` issuer template,
//! `tid`, `groups`, `_claim_names` / `hasgroups` overage); GitLab "GitLab as OpenID Connect
//! identity provider" (`groups_direct` in the ID token, `groups` in userinfo); Keycloak's
//! default `realm_access.roles` mapper.

use serde_json::Value;

use crate::config::ProviderPreset;
use crate::error::LoginError;
use crate::providers::oidc::{groups_from_json, json_bool, LoginClaims};

/// The placeholder in a multi-tenant Entra ID issuer.
const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Parameters added to the authorization request. `choose_account` is set when the person
/// asked to sign in with a different account than the provider's session is for ("Access
/// denied" page), with whether discovery advertised `prompt=select_account`.
pub(crate) fn authorization_params(
    preset: &ProviderPreset,
    choose_account: Option<bool>,
) -> Vec<(&'static str, String)> {
    let mut params = match preset {
        ProviderPreset::Google {
            hosted_domain: Some(domain),
        } => vec![("hd", domain.clone())],
        _ => Vec::new(),
    };
    if let Some(advertised) = choose_account {
        params.push(("prompt", account_prompt(preset, advertised).to_owned()));
    }
    params
}

/// The `prompt` (OpenID Connect Core §3.1.2.1) that lets the person pick another account:
/// `select_account` where the provider has an account chooser (Google's and Entra ID's
/// documentation name it; others when discovery advertises it), else `login`, which every
/// OpenID provider must understand and which asks for the credentials again (Keycloak,
/// GitLab and the npm `oidc-provider` support `login` but not `select_account`).
fn account_prompt(preset: &ProviderPreset, select_account_advertised: bool) -> &'static str {
    match preset {
        ProviderPreset::Google { .. } | ProviderPreset::Microsoft { .. } => "select_account",
        _ if select_account_advertised => "select_account",
        _ => "login",
    }
}

/// For `common` / `organizations`: the issuer template, `{base}/{tenantid}/v2.0`.
fn issuer_template(preset: &ProviderPreset, configured: &str) -> Option<String> {
    let ProviderPreset::Microsoft { tenant, .. } = preset else {
        return None;
    };
    if crate::config::is_tenant_id(tenant) {
        return None;
    }
    let base = configured.strip_suffix(&format!("/{tenant}/v2.0"))?;
    Some(format!("{base}/{TENANT_PLACEHOLDER}/v2.0"))
}

/// The `issuer` the discovery document must name when it differs from the URL it is
/// fetched from (multi-tenant Entra ID); `None`: the configured issuer, checked as usual.
pub(crate) fn discovery_issuer(preset: &ProviderPreset, configured: &str) -> Option<String> {
    issuer_template(preset, configured)
}

/// The issuer the ID token's `iss` must equal. For multi-tenant Entra ID it is the template
/// filled with the token's `tid`, which must be a tenant id (and in `tenants` when that is
/// set); the signature and `iss` are then verified as for any provider.
pub(crate) fn token_issuer(
    preset: &ProviderPreset,
    configured: &str,
    payload: &Value,
) -> Result<String, LoginError> {
    let Some(template) = issuer_template(preset, configured) else {
        return Ok(configured.to_owned());
    };
    let tid = payload
        .get("tid")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .filter(|tid| crate::config::is_tenant_id(tid))
        .ok_or_else(|| LoginError::InvalidIdToken("no tenant id (tid) claim".into()))?;
    if let ProviderPreset::Microsoft { tenants, .. } = preset {
        if !tenants.is_empty() && !tenants.contains(&tid) {
            return Err(LoginError::NotAuthorized(format!(
                "Microsoft tenant {tid} is not one of the allowed `tenants`"
            )));
        }
    }
    Ok(template.replace(TENANT_PLACEHOLDER, &tid))
}

/// RFC 9207 `iss` on the callback: the configured issuer, or for multi-tenant Entra ID any
/// issuer of the template's shape whose tenant is allowed.
pub(crate) fn callback_issuer_matches(
    preset: &ProviderPreset,
    configured: &str,
    iss: &str,
) -> bool {
    if iss == configured {
        return true;
    }
    let Some(template) = issuer_template(preset, configured) else {
        return false;
    };
    let (prefix, suffix) = template
        .split_once(TENANT_PLACEHOLDER)
        .unwrap_or((template.as_str(), ""));
    let tid = iss
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .map(str::to_ascii_lowercase);
    match (tid, preset) {
        (Some(tid), ProviderPreset::Microsoft { tenants, .. }) => {
            crate::config::is_tenant_id(&tid) && (tenants.is_empty() || tenants.contains(&tid))
        }
        _ => false,
    }
}

/// GitLab lists every group only in userinfo.
pub(crate) fn wants_userinfo(preset: &ProviderPreset) -> bool {
    matches!(preset, ProviderPreset::Gitlab)
}

/// The kind's checks and claim mapping, after the ID token (`payload`, signature verified)
/// and userinfo were validated.
pub(crate) fn finish(
    preset: &ProviderPreset,
    claims: &mut LoginClaims,
    payload: &Value,
    userinfo: Option<&Value>,
) -> Result<(), LoginError> {
    match preset {
        ProviderPreset::Google { hosted_domain } => {
            google(claims, payload, hosted_domain.as_deref())
        }
        ProviderPreset::Gitlab => {
            let groups = userinfo
                .and_then(|u| u.get("groups"))
                .or_else(|| payload.get("groups_direct"));
            if let Some(groups) = groups {
                claims.groups = groups_from_json(groups);
            }
            Ok(())
        }
        ProviderPreset::Microsoft { .. } => microsoft(claims, payload),
        ProviderPreset::Keycloak => {
            let roles = payload
                .pointer("/realm_access/roles")
                .map(groups_from_json)
                .unwrap_or_default();
            for role in roles {
                if !claims.groups.contains(&role) {
                    claims.groups.push(role);
                }
            }
            Ok(())
        }
        ProviderPreset::None => Ok(()),
    }
}

/// Google: the address must be verified, and with `hosted_domain` the token's `hd` claim
/// must name that domain (the `hd` request parameter alone can be removed by the user).
fn google(
    claims: &LoginClaims,
    payload: &Value,
    hosted_domain: Option<&str>,
) -> Result<(), LoginError> {
    if claims.email.is_none() || claims.email_verified != Some(true) {
        return Err(LoginError::NotAuthorized(
            "Google did not assert a verified email address".into(),
        ));
    }
    if let Some(domain) = hosted_domain {
        let hd = payload.get("hd").and_then(Value::as_str);
        if !hd.is_some_and(|hd| hd.eq_ignore_ascii_case(domain)) {
            return Err(LoginError::NotAuthorized(format!(
                "the Google account is not in the Workspace domain {domain} (hd claim: {})",
                hd.unwrap_or("none")
            )));
        }
    }
    Ok(())
}

/// Entra ID: the groups claim, refusing a groups overage (the user is in more groups than
/// the token can carry) instead of continuing with an empty list; the email only when
/// Entra asserts it (`verified_primary_email`, or `xms_edov` for a domain-owner-verified
/// `email`), because the `email` claim alone is not verified.
fn microsoft(claims: &mut LoginClaims, payload: &Value) -> Result<(), LoginError> {
    let overage = payload.pointer("/_claim_names/groups").is_some()
        || payload.get("hasgroups").and_then(json_bool) == Some(true);
    if overage {
        return Err(LoginError::NotAuthorized(
            "Microsoft Entra ID sent a groups overage claim instead of the groups (the user \
             is in too many groups); in the app registration, emit only the groups assigned \
             to the application (groupMembershipClaims = ApplicationGroup)"
                .into(),
        ));
    }
    let verified = payload
        .get("verified_primary_email")
        .map(groups_from_json)
        .and_then(|emails| emails.into_iter().next());
    match verified {
        Some(email) => {
            claims.email = Some(email);
            claims.email_verified = Some(true);
        }
        None => {
            let edov = payload.get("xms_edov").and_then(json_bool) == Some(true);
            claims.email_verified = Some(edov && claims.email.is_some());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(preset: &ProviderPreset, advertised: bool) -> Vec<(&'static str, String)> {
        authorization_params(preset, Some(advertised))
            .into_iter()
            .filter(|(name, _)| *name == "prompt")
            .collect()
    }

    #[test]
    fn another_account_is_asked_for_as_each_provider_understands_it() {
        let google = ProviderPreset::Google {
            hosted_domain: Some("example.com".into()),
        };
        let microsoft = ProviderPreset::Microsoft {
            tenant: "common".into(),
            tenants: Vec::new(),
        };
        let select = vec![("prompt", "select_account".to_owned())];
        let login = vec![("prompt", "login".to_owned())];
        assert_eq!(prompt(&google, false), select);
        assert_eq!(prompt(&microsoft, false), select);
        assert_eq!(prompt(&ProviderPreset::Keycloak, false), login);
        assert_eq!(prompt(&ProviderPreset::Gitlab, false), login);
        assert_eq!(prompt(&ProviderPreset::None, false), login);
        assert_eq!(prompt(&ProviderPreset::None, true), select);
        // An ordinary login asks for nothing, and Google keeps its `hd`.
        assert!(authorization_params(&ProviderPreset::None, None).is_empty());
        assert_eq!(
            authorization_params(&google, None),
            [("hd", "example.com".to_owned())]
        );
    }
}
