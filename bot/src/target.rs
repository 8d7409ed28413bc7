//! Where bots connect: a WebSocket or WebTransport base URL, and fetching the certificate hash a
//! server publishes for its self-signed WebTransport certificate.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use videocall_client::TransportChoice;

/// How long fetching a certificate hash may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from the certificate-hash endpoint.
const MAX_ANSWER: u64 = 64 * 1024;

/// One server a bot can join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// A WebSocket base URL (`ws://host:port` or `http://host:port`).
    WebSocket(Url),
    /// A WebTransport base URL (`https://host:port`) and the certificate hash to trust.
    WebTransport {
        /// The base URL.
        url: Url,
        /// SHA-256 of a self-signed certificate; `None` validates against the system roots.
        cert_hash: Option<[u8; 32]>,
    },
}

impl Server {
    /// The client's transport choice for this server.
    pub fn choice(&self) -> TransportChoice {
        match self {
            Server::WebSocket(url) => TransportChoice::WebSocket { url: url.clone() },
            Server::WebTransport { url, cert_hash } => {
                TransportChoice::WebTransport { url: url.clone(), cert_hash: *cert_hash }
            }
        }
    }
}

/// Why a certificate hash could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not a plain `http://host:port` URL.
    #[error("need a plain http:// URL with a host, got {0}")]
    Url(Url),
    /// Connecting or reading failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No answer within the timeout.
    #[error("no answer within {FETCH_TIMEOUT:?}")]
    Timeout,
    /// The answer is not the JSON the endpoint serves.
    #[error("unexpected answer: {0}")]
    Answer(String),
}

/// Fetches `GET /api/v1/webtransport/certificate-hash` from the server's HTTP address.
pub async fn certificate_hash(http: &Url) -> Result<[u8; 32], FetchError> {
    let (Some(host), Some(port), "http") =
        (http.host_str(), http.port_or_known_default(), http.scheme())
    else {
        return Err(FetchError::Url(http.clone()));
    };
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect((host, port)).await?;
        let request = format!(
            "GET /api/v1/webtransport/certificate-hash HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
        Ok::<_, FetchError>(answer)
    };
    let answer =
        tokio::time::timeout(FETCH_TIMEOUT, fetch).await.map_err(|_| FetchError::Timeout)??;
    parse_answer(&String::from_utf8_lossy(&answer))
}

/// The hash in an HTTP answer of the certificate-hash endpoint.
fn parse_answer(answer: &str) -> Result<[u8; 32], FetchError> {
    let bad = |what: &str| FetchError::Answer(what.to_owned());
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body).ok_or_else(|| bad("no body"))?;
    let json: serde_json::Value = serde_json::from_str(body).map_err(|e| bad(&e.to_string()))?;
    let bytes: Vec<u8> = json["value"]
        .as_array()
        .ok_or_else(|| bad("no \"value\" array"))?
        .iter()
        .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad("\"value\" holds something other than bytes"))?;
    bytes.try_into().map_err(|_| bad("the hash is not 32 bytes"))
}

/// Parses a hex SHA-256 (64 hex digits, optionally with `:` separators).
pub fn parse_hex_hash(text: &str) -> Option<[u8; 32]> {
    let digits: Vec<u8> = text.bytes().filter(|b| *b != b':').collect();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_hash_from_the_endpoint_answer() {
        let value: Vec<String> = (0..32).map(|i| i.to_string()).collect();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{{\"algorithm\":\"sha-256\",\"value\":[{}]}}",
            value.join(",")
        );
        let hash = parse_answer(&answer).unwrap();
        assert_eq!(hash[31], 31);
        assert!(parse_answer("HTTP/1.1 404 Not Found\r\n\r\n{\"error\":\"no\"}").is_err());
        assert!(parse_answer("HTTP/1.1 200 OK\r\n\r\n{\"value\":[1,2,300]}").is_err());
    }

    #[test]
    fn hex_hashes_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_hex_hash(&hex), Some([0xab; 32]));
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(parse_hex_hash(&colons), Some([0xab; 32]));
        assert_eq!(parse_hex_hash("abc"), None);
        assert_eq!(parse_hex_hash(&"zz".repeat(32)), None);
    }
}
