//! `window.videocallState()`: a JSON snapshot of the call for tests and for people debugging
//! in the console — connection, transport, what was sent, and what arrived from each peer.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::json;
use videocall_client::PeerKey;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

use super::call::CallState;

thread_local! {
    /// The call the probe reports on (at most one per page).
    static CURRENT: RefCell<Weak<RefCell<CallState>>> = const { RefCell::new(Weak::new()) };
}

/// Points the probe at `state` (and installs `window.videocallState` on first use).
pub(crate) fn watch(state: &Rc<RefCell<CallState>>) {
    CURRENT.with(|current| *current.borrow_mut() = Rc::downgrade(state));
    install();
}

fn install() {
    let Some(window) = web_sys::window() else { return };
    if js_sys::Reflect::has(&window, &"videocallState".into()).unwrap_or(false) {
        return;
    }
    let probe = Closure::<dyn Fn() -> JsValue>::new(|| JsValue::from_str(&snapshot()));
    let _ = js_sys::Reflect::set(&window, &"videocallState".into(), probe.as_ref());
    probe.forget(); // lives as long as the page
}

/// The snapshot as JSON text.
fn snapshot() -> String {
    let state = CURRENT.with(|current| current.borrow().upgrade());
    let Some(state) = state else {
        return json!({ "connected": false, "transport": null, "sent": {}, "peers": [] })
            .to_string();
    };
    let Ok(mut state) = state.try_borrow_mut() else {
        return json!({ "busy": true }).to_string();
    };
    let transport = state.client.transport().map(|t| t.as_str());
    let joined_at = state.joined_at;
    let sent = json!({
        "video": state.camera.as_ref().map_or(0, |s| s.stats().sent),
        "screen": state.screen.as_ref().map_or(0, |s| s.stats().sent),
        "audio": state.mic.as_ref().map_or(0, |s| s.stats().sent),
    });
    let peers: Vec<_> = state
        .peers
        .clone()
        .into_iter()
        .map(|(key, user)| {
            let stats = state.peer_stats(&key);
            let session = match &key {
                PeerKey::Session(id) => id.get().to_string(),
                PeerKey::Email(_) => String::new(),
            };
            let first_video = stats.first_video_at.map(|at| at.saturating_sub(joined_at));
            json!({
                "user": user,
                "first_video_ms": first_video.map(|d| d.as_secs_f64() * 1000.0),
                "session": session,
                "video_frames": stats.video_frames,
                "screen_frames": stats.screen_frames,
                "audio_packets": stats.audio_packets,
                "audio_frames": stats.audio_frames,
                "video_lost": stats.video_lost,
                "malformed": stats.malformed,
            })
        })
        .collect();
    let client = state.client.stats();
    json!({
        "connected": transport.is_some(),
        "transport": transport,
        "sent": sent,
        "peers": peers,
        "client": {
            "sent": client.sent,
            "received": client.received,
            "malformed": client.malformed,
            "reconnects": client.reconnects,
        },
    })
    .to_string()
}
