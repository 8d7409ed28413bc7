//! The scheme and host a request was addressed to: parsed (never sliced), bounded, and taken
//! from a proxy's `Forwarded` / `X-Forwarded-*` headers only when the operator trusts them.
//!
//! Anyone can send those headers; they are believed only with `TRUST_FORWARDED_HEADERS`, i.e.
//! behind a proxy that sets them and drops the client's own. Otherwise the request's own
//! authority (`Host`, or the URI's for HTTP/2 and absolute-form requests) and the connection's
//! scheme are used.

use std::str::FromStr;

use actix_web::HttpRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::http::uri::Authority;

/// Longest accepted host: a DNS name (253) plus `:65535`. Nothing legitimate is longer, and the
/// host is echoed into the URLs the browser app connects to.
const MAX_HOST_LEN: usize = 253 + 6;

/// `X-Forwarded-Host`, the de-facto header of most proxies.
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// `X-Forwarded-Proto`, the de-facto header of most proxies.
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// The scheme and authority a request was addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHost {
    /// Whether the client used TLS (to us, or to the trusted proxy in front of us).
    pub(crate) secure: bool,
    /// `name[:port]` or `[v6][:port]`, never with user info.
    pub(crate) authority: Authority,
}

/// Why a request's host cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HostError {
    /// Neither the URI nor a `Host` header names a host.
    #[error("the request names no host")]
    Missing,
    /// A header that should hold `host[:port]` does not.
    #[error("{0} is not a valid host[:port] of at most {MAX_HOST_LEN} characters")]
    Invalid(&'static str),
    /// A header that should hold the scheme holds neither `http` nor `https`.
    #[error("{0} is neither http nor https")]
    Scheme(&'static str),
}

impl RequestHost {
    /// Where `req` was addressed to; with `trust_forwarded`, as the proxy in front says.
    pub(crate) fn of(req: &HttpRequest, trust_forwarded: bool) -> Result<Self, HostError> {
        let secure = match req.uri().scheme_str() {
            Some(scheme) => scheme.eq_ignore_ascii_case("https"),
            None => req.app_config().secure(),
        };
        from_parts(req.headers(), req.uri().authority(), secure, trust_forwarded)
    }
}

/// [`RequestHost::of`] without the request: its headers, its URI's authority (HTTP/2,
/// absolute-form) and whether the connection is TLS.
fn from_parts(
    headers: &HeaderMap,
    uri_authority: Option<&Authority>,
    secure: bool,
    trust_forwarded: bool,
) -> Result<RequestHost, HostError> {
    let proxy = if trust_forwarded { Proxied::read(headers)? } else { Proxied::default() };
    let secure = proxy.secure.unwrap_or(secure);
    let authority = match (proxy.host, uri_authority) {
        (Some(host), _) => host,
        (None, Some(authority)) => parse_authority(authority.as_str(), "the request URI")?,
        (None, None) => {
            let host = headers.get(header::HOST).ok_or(HostError::Missing)?;
            parse_authority(host.to_str().map_err(|_| HostError::Invalid("Host"))?, "Host")?
        }
    };
    Ok(RequestHost { secure, authority })
}

/// What a trusted proxy says about the client's request.
#[derive(Debug, Default)]
struct Proxied {
    host: Option<Authority>,
    secure: Option<bool>,
}

impl Proxied {
    /// RFC 7239 `Forwarded` wins over `X-Forwarded-*`, field by field. Each header's first
    /// element is the one the outermost proxy wrote, about the client.
    fn read(headers: &HeaderMap) -> Result<Self, HostError> {
        let text = |name: &HeaderName, what: &'static str| {
            headers
                .get(name)
                .map(|value| value.to_str().map_err(|_| HostError::Invalid(what)))
                .transpose()
        };
        let forwarded = text(&header::FORWARDED, "Forwarded")?.map(forwarded_element);
        let (mut host, mut proto) = forwarded.unwrap_or_default();
        let x_host = text(&X_FORWARDED_HOST, "X-Forwarded-Host")?;
        let x_proto = text(&X_FORWARDED_PROTO, "X-Forwarded-Proto")?;
        let mut host_header = "Forwarded";
        if host.is_none() {
            host = x_host.map(first_element);
            host_header = "X-Forwarded-Host";
        }
        let mut proto_header = "Forwarded";
        if proto.is_none() {
            proto = x_proto.map(first_element);
            proto_header = "X-Forwarded-Proto";
        }
        let secure = match proto {
            None => None,
            Some(p) if p.eq_ignore_ascii_case("https") => Some(true),
            Some(p) if p.eq_ignore_ascii_case("http") => Some(false),
            Some(_) => return Err(HostError::Scheme(proto_header)),
        };
        let host = host.map(|h| parse_authority(h, host_header)).transpose()?;
        Ok(Self { host, secure })
    }
}

/// The first element of a comma-separated header value, trimmed.
fn first_element(value: &str) -> &str {
    value.split(',').next().unwrap_or_default().trim()
}

/// `host` and `proto` of the first element of a `Forwarded` value
/// (`for=…;host="[::1]:8080";proto=https, for=…`), unquoted.
fn forwarded_element(value: &str) -> (Option<&str>, Option<&str>) {
    let (mut host, mut proto) = (None, None);
    for pair in first_element(value).split(';') {
        let Some((name, value)) = pair.split_once('=') else { continue };
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        match name.trim() {
            n if n.eq_ignore_ascii_case("host") => host = Some(value),
            n if n.eq_ignore_ascii_case("proto") => proto = Some(value),
            _ => {}
        }
    }
    (host, proto)
}

/// `value` as `host[:port]` for `header`'s error.
fn parse_authority(value: &str, header: &'static str) -> Result<Authority, HostError> {
    host_and_port(value).ok_or(HostError::Invalid(header))
}

/// `value` if it is exactly `host[:port]`: at most [`MAX_HOST_LEN`] long, a non-empty host, a
/// port that fits 16 bits, no user info, no path.
pub(crate) fn host_and_port(value: &str) -> Option<Authority> {
    // `user@host` parses as an authority but is no host; a `/` would parse as a path.
    if value.is_empty() || value.len() > MAX_HOST_LEN || value.contains(['@', '/', '?', '#']) {
        return None;
    }
    let authority = Authority::from_str(value).ok()?;
    // `port()` is `None` for a port that is not a u16 (`:99999`, `:x`), not only for no port.
    let has_port = authority.as_str().len() > authority.host().len();
    let port_ok = !has_port || authority.port_u16().is_some();
    (!authority.host().is_empty() && port_ok && authority.as_str() == value).then_some(authority)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(HeaderName::from_static(name), HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn host(pairs: &[(&'static str, &[u8])], trust: bool) -> Result<(bool, String), HostError> {
        from_parts(&headers(pairs), None, false, trust).map(|h| (h.secure, h.authority.to_string()))
    }

    #[test]
    fn a_plain_host_header_is_the_host() {
        assert_eq!(host(&[("host", b"example.com")], false), Ok((false, "example.com".into())));
        assert_eq!(host(&[("host", b"[::1]:8080")], false), Ok((false, "[::1]:8080".into())));
    }

    #[test]
    fn forged_hosts_are_errors_not_panics() {
        let too_long = "a".repeat(MAX_HOST_LEN + 1);
        for bad in [
            &b"["[..],
            b"[::1",
            b"a:b:c",
            b"",
            b"user@example.com",
            b"a/b",
            b"\xff\xfe",
            b"h:99999",
        ]
        .into_iter()
        .chain([too_long.as_bytes()])
        {
            assert_eq!(host(&[("host", bad)], false), Err(HostError::Invalid("Host")), "{bad:?}");
            assert_eq!(
                host(&[("host", b"ok"), ("x-forwarded-host", bad)], true),
                Err(HostError::Invalid("X-Forwarded-Host")),
                "{bad:?}"
            );
        }
        assert_eq!(host(&[], false), Err(HostError::Missing));
    }

    #[test]
    fn forwarded_headers_are_ignored_unless_trusted() {
        let forged: &[(&'static str, &[u8])] = &[
            ("host", b"real:8080"),
            ("x-forwarded-host", b"["),
            ("x-forwarded-proto", b"gopher"),
            ("forwarded", b"host=evil;proto=https"),
        ];
        assert_eq!(host(forged, false), Ok((false, "real:8080".into())));
    }

    #[test]
    fn trusted_forwarded_beats_x_forwarded_field_by_field() {
        let both: &[(&'static str, &[u8])] = &[
            ("host", b"internal:8080"),
            ("forwarded", b"for=192.0.2.1;host=\"[2001:db8::1]:443\", host=inner"),
            ("x-forwarded-host", b"x.example"),
            ("x-forwarded-proto", b"HTTPS, http"),
        ];
        assert_eq!(host(both, true), Ok((true, "[2001:db8::1]:443".into())));
        let x_only: &[(&'static str, &[u8])] =
            &[("host", b"internal"), ("x-forwarded-host", b"meet.example, inner")];
        assert_eq!(host(x_only, true), Ok((false, "meet.example".into())));
    }

    #[test]
    fn a_trusted_proto_must_be_http_or_https() {
        let pairs: &[(&'static str, &[u8])] = &[("host", b"h"), ("x-forwarded-proto", b"wss")];
        assert_eq!(host(pairs, true), Err(HostError::Scheme("X-Forwarded-Proto")));
    }

    #[test]
    fn the_uri_authority_wins_over_the_host_header() {
        let uri: Authority = "from-uri:9000".parse().unwrap();
        let got = from_parts(&headers(&[("host", b"other")]), Some(&uri), true, false).unwrap();
        assert_eq!((got.secure, got.authority.as_str()), (true, "from-uri:9000"));
    }
}
