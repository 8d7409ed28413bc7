//! The server's settings for this app, fetched at run time from `GET /api/v1/config`, so one
//! build works behind any host name.

use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

/// What `GET /api/v1/config` returns.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ServerConfig {
    /// WebSocket base URL (`ws://host:port`).
    pub(crate) websocket_url: String,
    /// WebTransport base URL (`https://host:port`), when the server offers it.
    pub(crate) webtransport_url: Option<String>,
    /// SHA-256 (hex) of the self-signed WebTransport certificate, when it is one.
    pub(crate) certificate_hash: Option<String>,
    /// `vp9` or `vp8`.
    pub(crate) video_codec: String,
}

impl ServerConfig {
    /// The certificate hash as bytes, when present and well-formed.
    pub(crate) fn certificate_hash(&self) -> Option<[u8; 32]> {
        let hex = self.certificate_hash.as_deref()?;
        let mut hash = [0u8; 32];
        if hex.len() != 64 {
            return None;
        }
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(hash)
    }
}

/// Fetches the settings.
pub(crate) async fn fetch() -> Result<ServerConfig, String> {
    let window = web_sys::window().ok_or("no window")?;
    let response = JsFuture::from(window.fetch_with_str("/api/v1/config"))
        .await
        .map_err(|e| format!("cannot reach the server: {e:?}"))?;
    let response: Response = response.dyn_into().map_err(|_| "not a response".to_owned())?;
    if !response.ok() {
        return Err(format!("the server answered {} to /api/v1/config", response.status()));
    }
    let text = response.text().map_err(|e| format!("{e:?}"))?;
    let text = JsFuture::from(text).await.map_err(|e| format!("{e:?}"))?;
    let text = text.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("bad settings from the server: {e}"))
}
