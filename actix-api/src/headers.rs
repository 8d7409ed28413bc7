//! Security headers on every response: what the browser may load, run and embed for our pages.

use actix_web::middleware::DefaultHeaders;

/// The Content-Security-Policy the web app (and the built-in status page) runs under. Why each
/// directive:
///
/// - `script-src 'self' 'wasm-unsafe-eval'`: the app is our own module script plus a
///   WebAssembly module, and compiling WebAssembly needs `'wasm-unsafe-eval'`; no inline
///   script, no `eval`, so an injected `<script>` does not run.
/// - `style-src 'self'` with `style-src-attr 'unsafe-inline'`: style sheets only from us; style
///   *attributes* are allowed because the meeting grid sets its column count as one.
/// - `connect-src 'self' ws: wss: https:`: the WebSocket and WebTransport URLs are run-time
///   settings (`WEBSOCKET_URL`, `WEBTRANSPORT_URL`) and WebTransport uses another port, so any
///   host may be a media server.
/// - `img-src`/`media-src` add `data:`, `blob:` and `mediastream:` for the inline favicon and
///   local camera previews.
/// - `object-src 'none'`, `base-uri 'none'`, `form-action 'self'`: no plugins, no `<base>`
///   hijacking of relative URLs, forms post only to us.
/// - `frame-ancestors 'none'`: nobody frames a page that has camera access (clickjacking);
///   `X-Frame-Options: DENY` says the same to browsers without CSP 2.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; style-src-attr 'unsafe-inline'; \
    connect-src 'self' ws: wss: https:; \
    img-src 'self' data: blob:; \
    media-src 'self' blob: mediastream:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `no-referrer`: meeting URLs name the meeting and may carry a `?token=` JWT, and the app
/// needs no `Referer` anywhere, so none is ever sent (not even the origin).
const REFERRER_POLICY: &str = "no-referrer";

/// The middleware adding the security headers to every response that does not set its own.
pub(crate) fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", REFERRER_POLICY))
}
