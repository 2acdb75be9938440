//! The one error type of this crate: plain data that says which registry was asked for what,
//! what it answered and what the user can do next.
//!
//! Every failure — a refused version, a bad token, an unreachable host, a corrupt answer —
//! becomes a [`RegistryError`]; nothing in this crate panics on what a registry sends back.

use std::fmt;

/// What went wrong, coarsely enough for a caller to branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegistryErrorKind {
    /// The caller's input was refused before any request: a malformed version, reference,
    /// orb name or host.
    InvalidInput,
    /// The orb, the version or the registry endpoint does not exist.
    NotFound,
    /// The version is already published and versions are immutable.
    VersionExists,
    /// The registry refused the credentials (or wants some).
    Unauthorized,
    /// The registry understood the request and refused it (GraphQL `errors`, an OCI error code).
    Rejected,
    /// The registry answered something this client cannot read.
    BadResponse,
    /// The artifact is not an orb: another artifact or layer media type.
    NotAnOrb,
    /// The downloaded content does not match its digest.
    DigestMismatch,
    /// No answer at all: connection refused, DNS, TLS, timeout.
    Network,
}

impl RegistryErrorKind {
    fn describe(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid input",
            Self::NotFound => "not found",
            Self::VersionExists => "version already published",
            Self::Unauthorized => "not authorized",
            Self::Rejected => "refused by the registry",
            Self::BadResponse => "unreadable answer from the registry",
            Self::NotAnOrb => "not an orb artifact",
            Self::DigestMismatch => "content does not match its digest",
            Self::Network => "registry not reachable",
        }
    }
}

/// A failed registry operation.
///
/// Rendered as one line — `<request> on <host>: <kind> (HTTP <status>): <registry message>` —
/// followed by a `help:` line when there is something to suggest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryError {
    pub kind: RegistryErrorKind,
    /// The registry host as the user wrote it (`circleci.com`, `127.0.0.1:5000`); empty when
    /// the input was refused before choosing a host.
    pub host: String,
    /// What was asked, in the user's terms: `fetch orb acme/tools@1.2.3`.
    pub request: String,
    /// The HTTP status, when the registry answered.
    pub status: Option<u16>,
    /// The registry's own words (GraphQL error messages, OCI error codes and messages), or
    /// the local reason when there is no registry answer.
    pub detail: Option<String>,
    /// What the user can do about it.
    pub help: Option<String>,
}

impl RegistryError {
    pub fn new(
        kind: RegistryErrorKind,
        host: impl Into<String>,
        request: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            host: host.into(),
            request: request.into(),
            status: None,
            detail: None,
            help: None,
        }
    }

    /// Input refused locally, before any request.
    pub fn invalid_input(request: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(RegistryErrorKind::InvalidInput, "", request).with_detail(detail)
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        if !detail.trim().is_empty() {
            self.detail = Some(detail);
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Fills in the host and request of an error produced by a registry-agnostic rule.
    pub(crate) fn at(mut self, host: &str, request: &str) -> Self {
        if self.host.is_empty() {
            self.host = host.to_owned();
        }
        if self.request.is_empty() {
            self.request = request.to_owned();
        }
        self
    }
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.request)?;
        if !self.host.is_empty() {
            write!(f, " on {}", self.host)?;
        }
        write!(f, ": {}", self.kind.describe())?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\nhelp: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RegistryError {}

/// Registry answers can be whole HTML pages; keep messages readable.
pub(crate) fn shorten(text: &str) -> String {
    const LIMIT: usize = 300;
    let text = text.trim();
    if text.chars().count() <= LIMIT {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(LIMIT).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_request_host_status_detail_and_help() {
        let error = RegistryError::new(
            RegistryErrorKind::Unauthorized,
            "circleci.com",
            "publish orb acme/tools@1.2.3",
        )
        .with_status(401)
        .with_detail("Invalid token provided.")
        .with_help("check the token");
        assert_eq!(
            error.to_string(),
            "publish orb acme/tools@1.2.3 on circleci.com: not authorized (HTTP 401): \
             Invalid token provided.\nhelp: check the token"
        );
    }

    #[test]
    fn local_refusal_has_no_host() {
        let error = RegistryError::invalid_input("publish orb acme/tools@1.2", "not X.Y.Z");
        assert_eq!(
            error.to_string(),
            "publish orb acme/tools@1.2: invalid input: not X.Y.Z"
        );
    }

    #[test]
    fn long_answers_are_shortened() {
        let long = "x".repeat(1000);
        assert_eq!(shorten(&long).chars().count(), 301);
        assert_eq!(shorten("  short \n"), "short");
    }
}
