//! Small bridges to the browser: clocks, timers and readable errors.

use std::time::Duration;

use wasm_bindgen::{JsCast, JsValue};

/// A monotonic clock: time since the page loaded (`performance.now()`).
pub(crate) fn monotonic() -> Duration {
    let ms = web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// Wall-clock milliseconds since the Unix epoch.
pub(crate) fn unix_ms() -> f64 {
    js_sys::Date::now()
}

/// Resolves after `delay` (a browser timer; at most about 24 days).
pub(crate) async fn sleep(delay: Duration) {
    let ms = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Marks a promise nobody awaits as handled, so that its failure (e.g. a stream closing with
/// its session) is not reported as an uncaught error.
pub(crate) fn ignore_rejection<T>(promise: &js_sys::Promise<T>) {
    thread_local! {
        static IGNORE: wasm_bindgen::closure::Closure<dyn FnMut(JsValue)> =
            wasm_bindgen::closure::Closure::new(|_: JsValue| {});
    }
    IGNORE.with(|ignore| {
        let _ = promise.catch(ignore);
    });
}

/// A person-readable text for a thrown JavaScript value.
pub(crate) fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}
