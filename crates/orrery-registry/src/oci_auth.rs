//! Authentication with OCI registries: HTTP basic credentials, and the bearer-token flow of
//! the distribution token spec (a `401` with `WWW-Authenticate: Bearer realm=…,service=…,
//! scope=…`, then `GET realm?service=…&scope=…` — with the basic credentials, if any — whose
//! JSON answer holds `token` or `access_token`).

use std::fmt;

use reqwest::blocking::Client;
use serde::Deserialize;

use crate::error::shorten;
use crate::http::{is_loopback, kind_of_status, network_error};
use crate::{RegistryError, RegistryErrorKind};

/// Environment variable names a program may read [`BasicAuth`] from (see
/// [`BasicAuth::from_lookup`]); this crate itself never reads the environment.
pub const USERNAME_VARIABLE: &str = "ORRERY_OCI_USERNAME";
pub const PASSWORD_VARIABLE: &str = "ORRERY_OCI_PASSWORD";

/// Credentials for HTTP basic authentication: sent with every registry request unless the
/// registry asks for a bearer token, and then sent to its token service.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl BasicAuth {
    /// Reads [`USERNAME_VARIABLE`] and [`PASSWORD_VARIABLE`] through `lookup` (pass
    /// `|name| std::env::var(name).ok()`); `None` unless the username is set and non-empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let username = lookup(USERNAME_VARIABLE).filter(|name| !name.is_empty())?;
        let password = lookup(PASSWORD_VARIABLE).unwrap_or_default();
        Some(Self { username, password })
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A `WWW-Authenticate: Bearer …` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BearerChallenge {
    pub(crate) realm: String,
    pub(crate) service: Option<String>,
    /// Space-separated scopes, e.g. `repository:orbs/acme/tools:pull,push`.
    pub(crate) scope: Option<String>,
}

impl BearerChallenge {
    /// Parses `Bearer realm="…",service="…",scope="…"`; `None` for other schemes or without a
    /// realm.
    pub(crate) fn parse(header: &str) -> Option<Self> {
        let header = header.trim_start();
        let (scheme, params) = header.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = parse_auth_params(params);
        let get = |key: &str| {
            params
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))
                .map(|(_, value)| value.clone())
        };
        Some(Self {
            realm: get("realm").filter(|realm| !realm.is_empty())?,
            service: get("service"),
            scope: get("scope"),
        })
    }
}

/// `key="quoted, value",key2=token` → pairs; quoted values may hold commas and `\"`.
fn parse_auth_params(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            return pairs;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    _ => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        pairs.push((key.trim().to_owned(), value.trim().to_owned()));
    }
}

/// Asks the challenge's token service for a token. Basic credentials go only to an `https`
/// realm, or to one on this machine, or with `plain_http`.
pub(crate) fn fetch_bearer_token(
    client: &Client,
    host: &str,
    request: &str,
    challenge: &BearerChallenge,
    basic_auth: Option<&BasicAuth>,
    plain_http: bool,
) -> Result<String, RegistryError> {
    let token_error = |kind: RegistryErrorKind| {
        RegistryError::new(kind, host, request)
            .with_help("the registry's token service refused to issue a token")
    };
    let mut url = reqwest::Url::parse(&challenge.realm).map_err(|error| {
        token_error(RegistryErrorKind::BadResponse).with_detail(format!(
            "the token realm `{}` is not a URL: {error}",
            challenge.realm
        ))
    })?;
    {
        let mut query = url.query_pairs_mut();
        if let Some(service) = &challenge.service {
            query.append_pair("service", service);
        }
        for scope in challenge.scope.iter().flat_map(|scope| scope.split(' ')) {
            query.append_pair("scope", scope);
        }
    }
    let safe_for_credentials =
        url.scheme() == "https" || plain_http || url.host_str().is_some_and(is_loopback);
    let mut http = client.get(url.clone());
    if let Some(auth) = basic_auth.filter(|_| safe_for_credentials) {
        http = http.basic_auth(&auth.username, Some(&auth.password));
    }
    let response = http
        .send()
        .map_err(|error| network_error(host, request, &error))?;
    let status = response.status();
    let body = response.text().unwrap_or_default();
    if !status.is_success() {
        return Err(RegistryError::new(kind_of_status(status), host, request)
            .with_status(status.as_u16())
            .with_detail(format!(
                "the token service {} answered: {}",
                challenge.realm,
                shorten(&body)
            ))
            .with_help(if basic_auth.is_some() {
                "check the username and password"
            } else {
                "the registry needs credentials: set ORRERY_OCI_USERNAME and ORRERY_OCI_PASSWORD"
            }));
    }
    #[derive(Deserialize)]
    struct TokenAnswer {
        token: Option<String>,
        access_token: Option<String>,
    }
    serde_json::from_str::<TokenAnswer>(&body)
        .ok()
        .and_then(|answer| answer.token.or(answer.access_token))
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            token_error(RegistryErrorKind::BadResponse).with_detail(format!(
                "the token service {} answered no token: {}",
                challenge.realm,
                shorten(&body)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let challenge = BearerChallenge::parse(
            r#"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:orbs/acme/tools:pull,push""#,
        )
        .unwrap();
        assert_eq!(challenge.realm, "https://auth.example.com/token");
        assert_eq!(challenge.service.as_deref(), Some("registry.example.com"));
        assert_eq!(
            challenge.scope.as_deref(),
            Some("repository:orbs/acme/tools:pull,push")
        );
        let bare = BearerChallenge::parse("bearer realm=http://127.0.0.1:1/t, service=x").unwrap();
        assert_eq!(bare.realm, "http://127.0.0.1:1/t");
        assert_eq!(bare.service.as_deref(), Some("x"));
        assert_eq!(bare.scope, None);
        assert!(BearerChallenge::parse(r#"Basic realm="registry""#).is_none());
        assert!(BearerChallenge::parse(r#"Bearer service="x""#).is_none());
    }

    #[test]
    fn quoted_params_keep_escapes() {
        assert_eq!(
            parse_auth_params(r#"a="x\"y", b=z"#),
            [
                ("a".to_owned(), "x\"y".to_owned()),
                ("b".to_owned(), "z".to_owned())
            ]
        );
    }

    #[test]
    fn basic_auth_from_lookup() {
        let auth = BasicAuth::from_lookup(|name| match name {
            USERNAME_VARIABLE => Some("me".into()),
            PASSWORD_VARIABLE => Some("pw".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(auth.username, "me");
        assert!(!format!("{auth:?}").contains("pw"));
        assert!(BasicAuth::from_lookup(|_| None).is_none());
    }
}
