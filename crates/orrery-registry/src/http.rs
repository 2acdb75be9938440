//! The HTTP client both registry clients share, and the mapping of transport failures and
//! HTTP statuses onto [`RegistryError`].

use std::error::Error as _;
use std::sync::Once;
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::StatusCode;

use crate::{RegistryError, RegistryErrorKind};

const USER_AGENT: &str = concat!("orrery/", env!("CARGO_PKG_VERSION"));

/// reqwest is built with `rustls-no-provider` so that aws-lc (C and cmake) is never compiled;
/// rustls then needs a process-wide crypto provider before the first client is built.
fn install_ring_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error only means the embedding program installed a provider first; keep theirs.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds a blocking client. `loopback` hosts bypass any proxy from the environment: a proxy
/// cannot reach a server on this machine.
pub(crate) fn build_client(
    host: &str,
    request: &str,
    loopback: bool,
) -> Result<Client, RegistryError> {
    install_ring_provider();
    let mut builder = Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120));
    if loopback {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|error| {
        RegistryError::new(RegistryErrorKind::Network, host, request).with_detail(format!(
            "cannot set up the HTTP client: {}",
            error_chain(&error)
        ))
    })
}

/// Whether `host` (optionally `host:port`) names this machine.
pub(crate) fn is_loopback(host: &str) -> bool {
    let bare = host_without_port(host);
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`, `example.com` → `example.com`.
pub(crate) fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    if host.matches(':').count() > 1 {
        return host; // a bare IPv6 address
    }
    match host.rsplit_once(':') {
        Some((bare, port)) if port.bytes().all(|b| b.is_ascii_digit()) => bare,
        _ => host,
    }
}

/// A request that got no HTTP answer.
pub(crate) fn network_error(host: &str, request: &str, error: &reqwest::Error) -> RegistryError {
    let help = if error.is_timeout() {
        "the registry did not answer in time; try again, or check the host"
    } else {
        "check the registry host and port, and that this machine can reach it"
    };
    RegistryError::new(RegistryErrorKind::Network, host, request)
        .with_detail(error_chain(error))
        .with_help(help)
}

/// reqwest's own message is generic ("error sending request"); the cause chain holds the
/// useful part ("Connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The kind of error an unexpected HTTP status means.
pub(crate) fn kind_of_status(status: StatusCode) -> RegistryErrorKind {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryErrorKind::Unauthorized,
        StatusCode::NOT_FOUND => RegistryErrorKind::NotFound,
        _ => RegistryErrorKind::Rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:80",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["circleci.com", "10.0.0.1:5000", "ghcr.io:443"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn ports_are_stripped() {
        assert_eq!(host_without_port("example.com:443"), "example.com");
        assert_eq!(host_without_port("[::1]:5000"), "::1");
        assert_eq!(host_without_port("example.com"), "example.com");
    }
}
