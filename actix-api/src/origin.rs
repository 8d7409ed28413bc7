//! Which web origins may open a WebSocket: the check that stops a page on another site from
//! joining meetings through its visitors' browsers (cross-site WebSocket hijacking; browsers do
//! not apply the same-origin policy to WebSockets, they only send `Origin`).
//!
//! | `Origin` of the upgrade request | allowed |
//! |---|---|
//! | absent | yes: native clients (CLI, bot) send none, and browsers always send one |
//! | the request's own host (`Origin` host = `Host` host, and the ports agree when `Host` has one) | yes |
//! | listed in `ALLOWED_ORIGINS` (`*` lists every origin) | yes |
//! | `localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`, any port | only while `ALLOWED_ORIGINS` is unset (development) |
//! | anything else, `null`, unparsable | no: HTTP 403 |

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use actix_web::http::uri::Authority;

use crate::host::host_and_port;

/// A web origin `scheme://host[:port]`, lower-cased, with the scheme's default port filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

/// Why a string is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an origin (scheme://host[:port]): {0:?}")]
pub struct InvalidOrigin(String);

impl FromStr for Origin {
    type Err = InvalidOrigin;

    /// Parses an `Origin` header value, or an allow-list entry (which may end in `/`).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidOrigin(value.to_owned());
        let (scheme, rest) = value.split_once("://").ok_or_else(invalid)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(invalid());
        }
        let authority = host_and_port(rest).ok_or_else(invalid)?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        };
        Ok(Self {
            port: authority.port_u16().or(default_port),
            host: authority.host().to_ascii_lowercase(),
            scheme,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}://{}:{port}", self.scheme, self.host),
            None => write!(f, "{}://{}", self.scheme, self.host),
        }
    }
}

impl Origin {
    /// Whether the host is this machine: `localhost`, `*.localhost` (RFC 6761) or loopback.
    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether this origin names the host the request was sent to. The scheme is not
    /// compared, and a `Host` without a port matches any port: behind a TLS-terminating proxy
    /// the page is `https://name` while the request reaches us as `http` with `Host: name`.
    fn is_host(&self, host: &Authority) -> bool {
        self.host.eq_ignore_ascii_case(host.host())
            && host.port_u16().is_none_or(|port| Some(port) == self.port)
    }
}

/// One entry of `ALLOWED_ORIGINS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    /// `*`: every origin (for a deployment that authenticates by token instead).
    Any,
    /// Exactly this origin.
    Exact(Origin),
}

impl FromStr for AllowedOrigin {
    type Err = InvalidOrigin;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim() {
            "*" => Ok(Self::Any),
            origin => origin.parse().map(Self::Exact),
        }
    }
}

/// `ALLOWED_ORIGINS` as given: entries separated by commas. Empty entries are skipped, so an
/// empty variable (as compose files and charts often set) means "unset", not a bad origin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOrigins(pub Vec<AllowedOrigin>);

impl FromStr for AllowedOrigins {
    type Err = InvalidOrigin;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let entries = value.split(',').map(str::trim).filter(|entry| !entry.is_empty());
        entries.map(str::parse).collect::<Result<_, _>>().map(Self)
    }
}

/// The origins allowed to open WebSockets (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginPolicy {
    /// `ALLOWED_ORIGINS`; empty means the development default (loopback origins).
    listed: Vec<AllowedOrigin>,
}

impl OriginPolicy {
    /// The policy for `ALLOWED_ORIGINS`; an empty list allows loopback origins instead.
    pub(crate) fn new(listed: Vec<AllowedOrigin>) -> Self {
        Self { listed }
    }

    /// Whether a request with `origin` (the header's text; `None` when absent) sent to `host`
    /// (`None` when it has no usable host) may open a WebSocket.
    pub(crate) fn allows(&self, origin: Option<&str>, host: Option<&Authority>) -> bool {
        let Some(origin) = origin else { return true };
        let Ok(origin) = origin.parse::<Origin>() else { return false };
        if host.is_some_and(|host| origin.is_host(host)) {
            return true;
        }
        if self.listed.is_empty() {
            return origin.is_loopback();
        }
        self.listed.iter().any(|allowed| match allowed {
            AllowedOrigin::Any => true,
            AllowedOrigin::Exact(exact) => *exact == origin,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn authority(host: &str) -> Authority {
        host.parse().unwrap()
    }

    fn policy(list: &[&str]) -> OriginPolicy {
        OriginPolicy::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    #[test]
    fn requests_without_an_origin_are_native_clients_and_allowed() {
        assert!(policy(&[]).allows(None, None));
        assert!(policy(&["https://meet.example"]).allows(None, Some(&authority("x"))));
    }

    #[test]
    fn the_default_allows_the_own_host_and_loopback_only() {
        let own = authority("meet.example:8080");
        let default = policy(&[]);
        assert!(default.allows(Some("http://meet.example:8080"), Some(&own)));
        assert!(default.allows(Some("https://MEET.example:8080"), Some(&own)));
        for local in [
            "http://localhost:3000",
            "https://app.localhost",
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:8080",
        ] {
            assert!(default.allows(Some(local), Some(&own)), "{local}");
        }
        for foreign in [
            "https://evil.example",
            "http://meet.example:9999",
            "http://meet.example.evil.example:8080",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "null",
            "",
            "meet.example:8080",
            "http://user@localhost",
            "http://localhost/path",
            "http://[::1",
        ] {
            assert!(!default.allows(Some(foreign), Some(&own)), "{foreign}");
        }
    }

    #[test]
    fn a_host_without_a_port_matches_the_page_behind_a_tls_proxy() {
        let proxied = authority("meet.example");
        assert!(policy(&[]).allows(Some("https://meet.example"), Some(&proxied)));
        assert!(!policy(&[]).allows(Some("https://evil.example"), Some(&proxied)));
    }

    #[test]
    fn a_configured_list_replaces_the_loopback_default() {
        let list = policy(&["https://meet.example/", "http://Other.example:8080"]);
        let host = Some(authority("internal:8080"));
        assert!(list.allows(Some("https://meet.example:443"), host.as_ref()));
        assert!(list.allows(Some("http://other.example:8080"), host.as_ref()));
        assert!(list.allows(Some("http://internal:8080"), host.as_ref()));
        assert!(!list.allows(Some("http://meet.example"), host.as_ref()));
        assert!(!list.allows(Some("http://localhost:8080"), host.as_ref()));
        assert!(policy(&["*"]).allows(Some("https://anyone.example"), None));
    }

    #[test]
    fn allow_list_entries_must_be_origins() {
        for bad in ["meet.example", "https://", "https://a/b", "https://u@a", "h://a:99999"] {
            assert!(bad.parse::<AllowedOrigin>().is_err(), "{bad}");
        }
        let origin: Origin = "HTTPS://Meet.Example".parse().unwrap();
        assert_eq!(origin.to_string(), "https://meet.example:443");
    }
}
