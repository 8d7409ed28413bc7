//! A live call, apart from any view: the client, its event loop, the senders and the receiver.
//!
//! Media packets never reach the Yew component: the event loop hands them to the receiver
//! directly and forwards only control events (peers, connection) to the page.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use gloo_timers::callback::Interval;
use videocall_client::bitrate::BitrateController;
use videocall_client::web::media::{
    AudioSender, Notice, PeerMediaStats, Receiver, VideoSender, VideoSettings,
};
use videocall_client::web::{Client, ClientHandle};
use videocall_client::{ClientOptions, Event, PeerKey, Stats, TransportKind};
use videocall_types::MediaType;
use web_sys::MediaStreamTrack;
use yew::Callback;

/// Camera bitrate bounds (bit/s) for the adaptive controller.
const CAMERA_MIN: u32 = 150_000;
const CAMERA_MAX: u32 = 1_500_000;

/// Opus bitrate (bit/s): clear speech and music at low cost.
const AUDIO_BITRATE: u32 = 48_000;

/// How often jitter-buffer timers run.
const TICK: Duration = Duration::from_millis(40);

/// Everything the event loop and the page share.
pub(crate) struct CallState {
    pub(crate) client: ClientHandle,
    pub(crate) receiver: Receiver,
    pub(crate) camera: Option<VideoSender>,
    pub(crate) screen: Option<VideoSender>,
    pub(crate) mic: Option<AudioSender>,
    /// Peers in the order they joined, with their user ids.
    pub(crate) peers: Vec<(PeerKey, String)>,
    /// When the user clicked join (page clock).
    pub(crate) joined_at: Duration,
    bitrate: BitrateController,
    camera_settings: VideoSettings,
    ticks: u32,
}

impl CallState {
    /// Applies what receivers said about this page's streams.
    fn apply(&mut self, notices: Vec<Notice>) {
        for notice in notices {
            match notice {
                Notice::KeyframeRequested(kind) => self.keyframe(kind),
                Notice::Report { receiver, kind: MediaType::VIDEO, fps, frames_lost } => {
                    let now = now();
                    self.bitrate.handle_report(&receiver, fps, frames_lost, now);
                }
                Notice::Report { .. } => {}
            }
        }
    }

    fn keyframe(&self, kind: MediaType) {
        let sender = if kind == MediaType::SCREEN { &self.screen } else { &self.camera };
        if let Some(sender) = sender {
            sender.request_keyframe();
        }
    }

    fn tick(&mut self) {
        self.receiver.tick();
        self.ticks += 1;
        if self.ticks.is_multiple_of(25)
            && let Some(camera) = &self.camera
            && let Some(bitrate) = self.bitrate.poll(camera.stats().fps, now())
        {
            camera.set_bitrate(bitrate);
        }
    }

    /// The flags the heartbeats announce, from the senders that run.
    fn announce(&self) {
        self.client.set_enabled(self.camera.is_some(), self.mic.is_some(), self.screen.is_some());
    }

    /// What was received from `peer`.
    pub(crate) fn peer_stats(&mut self, peer: &PeerKey) -> PeerMediaStats {
        self.receiver.stats(peer).unwrap_or_default()
    }
}

/// Monotonic time for the bitrate controller.
fn now() -> Duration {
    let ms = web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
    Duration::from_secs_f64(ms / 1000.0)
}

/// A running call; closing or dropping it leaves the meeting.
pub(crate) struct Call {
    state: Rc<RefCell<CallState>>,
    _ticker: Interval,
}

impl Call {
    /// Joins with `options`; control events go to `on_event`. Call it from the join click so
    /// the browser lets audio play.
    pub(crate) fn start(
        options: ClientOptions,
        camera: VideoSettings,
        on_event: Callback<Event>,
    ) -> Result<Self, String> {
        let (client, mut events, driver) =
            Client::new(options).map_err(|e| format!("cannot build the server address: {e}"))?;
        wasm_bindgen_futures::spawn_local(driver);
        let state = Rc::new(RefCell::new(CallState {
            receiver: Receiver::new(client.clone()),
            client,
            camera: None,
            screen: None,
            mic: None,
            peers: Vec::new(),
            joined_at: now(),
            bitrate: BitrateController::new(camera.bitrate, CAMERA_MIN, CAMERA_MAX),
            camera_settings: camera,
            ticks: 0,
        }));
        let shared = state.clone();
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(event) = events.next().await {
                let forward = {
                    let mut state = shared.borrow_mut();
                    let notices = state.receiver.handle_event(&event);
                    state.apply(notices);
                    track_peers(&mut state, &event)
                };
                if forward {
                    on_event.emit(event);
                }
            }
        });
        let ticking = state.clone();
        let ticker = Interval::new(TICK.as_millis() as u32, move || {
            if let Ok(mut state) = ticking.try_borrow_mut() {
                state.tick();
            }
        });
        Ok(Self { state, _ticker: ticker })
    }

    /// The shared state (for diagnostics and the test hook).
    pub(crate) fn state(&self) -> Rc<RefCell<CallState>> {
        self.state.clone()
    }

    /// Publishes `track` as the camera, or stops the camera with `None`.
    pub(crate) fn set_camera(&self, track: Option<MediaStreamTrack>) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        state.camera = None;
        if let Some(track) = track {
            let settings =
                VideoSettings { bitrate: state.bitrate.bitrate(), ..state.camera_settings };
            let sender = VideoSender::start(state.client.clone(), track, settings)
                .map_err(|e| e.to_string())?;
            state.camera = Some(sender);
        }
        state.announce();
        Ok(())
    }

    /// Publishes `track` as the microphone, or mutes with `None`.
    pub(crate) fn set_mic(&self, track: Option<MediaStreamTrack>) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        state.mic = None;
        if let Some(track) = track {
            let sender = AudioSender::start(state.client.clone(), &track, AUDIO_BITRATE)
                .map_err(|e| e.to_string())?;
            state.mic = Some(sender);
        }
        state.announce();
        Ok(())
    }

    /// Publishes `track` as a screen share, or stops sharing with `None`.
    pub(crate) fn set_screen(&self, track: Option<MediaStreamTrack>) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        state.screen = None;
        if let Some(track) = track {
            let settings =
                VideoSettings { codec: state.camera_settings.codec, ..VideoSettings::screen() };
            let sender = VideoSender::start(state.client.clone(), track, settings)
                .map_err(|e| e.to_string())?;
            state.screen = Some(sender);
        }
        state.announce();
        Ok(())
    }

    /// Sends audio to the speaker `device`.
    pub(crate) fn set_speaker(&self, device: &str) {
        self.state.borrow().receiver.set_speaker(device);
    }

    /// The transport in use, if connected.
    pub(crate) fn transport(&self) -> Option<TransportKind> {
        self.state.borrow().client.transport()
    }

    /// The client's counters.
    pub(crate) fn stats(&self) -> Stats {
        self.state.borrow().client.stats()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.try_borrow_mut() {
            state.camera = None;
            state.mic = None;
            state.screen = None;
            state.client.close();
        }
    }
}

/// Keeps the peer list in step with the events; true when the page should hear of the event.
fn track_peers(state: &mut CallState, event: &Event) -> bool {
    match event {
        Event::Packet { .. } => return false,
        Event::KeyframeRequested(kind) => {
            state.keyframe(*kind);
            return false;
        }
        Event::Connected { participants, .. } => {
            for peer in participants {
                if !state.peers.iter().any(|(key, _)| *key == peer.key) {
                    state.peers.push((peer.key.clone(), peer.user.clone()));
                }
            }
        }
        Event::PeerJoined(peer) => {
            if !state.peers.iter().any(|(key, _)| *key == peer.key) {
                state.peers.push((peer.key.clone(), peer.user.clone()));
            }
            // A newcomer can only start decoding at a key frame: send one now.
            state.keyframe(MediaType::VIDEO);
            state.keyframe(MediaType::SCREEN);
        }
        Event::PeerLeft { peer, .. } => state.peers.retain(|(key, _)| *key != peer.key),
        _ => {}
    }
    true
}
