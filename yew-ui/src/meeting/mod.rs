//! The meeting page: a pre-join screen with a preview and device choice, then the call — a grid
//! of participant tiles, screen-share tiles, controls, the participant list and diagnostics.
//!
//! URL options: `?transport=webtransport|websocket|auto` (default auto: WebTransport first,
//! WebSocket when it fails), `?video=0` / `?audio=0` to start with the camera / microphone off.

mod call;
mod probe;
mod view;

use gloo_timers::callback::Interval;
use videocall_client::jitter::VideoCodec;
use videocall_client::web::media::{VideoSettings, capture};
use videocall_client::{ClientOptions, Event, MediaFlags, PeerInfo, PeerKey, TransportChoice};
use videocall_types::{CloseReason, DisplayName, MediaType, RoomId, UserId};
use web_sys::MediaStream;
use yew::prelude::*;

use crate::config::{self, ServerConfig};
use crate::identity;
use call::Call;

/// Loudness (RMS, full scale 1) above which a tile shows its peer as speaking.
const SPEAKING_LEVEL: f32 = 0.02;

/// How often the call view refreshes (speaking indicators, diagnostics).
const REFRESH_MS: u32 = 400;

/// Properties: who joins which meeting (from the URL).
#[derive(Debug, Clone, PartialEq, Properties)]
pub(crate) struct MeetingProps {
    /// The user id of an old `/meeting/{user}/{meeting}` link; `None` for an invite link, which
    /// joins under this tab's own id and the name typed on the pre-join page.
    pub(crate) user: Option<String>,
    /// The meeting id, as typed.
    pub(crate) meeting: String,
}

/// Which transport the URL asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransportPref {
    Auto,
    WebTransport,
    WebSocket,
}

/// Where the page is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Prejoin,
    Joined,
    Left,
}

/// The connection as people should see it.
#[derive(Debug, Clone, PartialEq)]
enum Status {
    Connecting,
    Connected(&'static str),
    Reconnecting { attempt: u32, seconds: f64 },
    Failed(String),
}

/// A remote participant.
#[derive(Debug, Clone, PartialEq)]
struct Peer {
    key: PeerKey,
    user: String,
    /// Display name (the user id when the server announced none).
    name: String,
    host: bool,
    flags: MediaFlags,
}

/// Messages of the meeting page.
pub(crate) enum Msg {
    Config(Result<ServerConfig, String>),
    Camera(Result<MediaStream, String>),
    Mic(Result<MediaStream, String>),
    Screen(Result<MediaStream, String>),
    Devices(capture::Devices),
    ToggleCamera,
    ToggleMic,
    ToggleScreen,
    SelectCamera(String),
    SelectMic(String),
    SelectSpeaker(String),
    Join,
    Leave,
    Rejoin,
    Client(Event),
    Refresh,
    TogglePeople,
    ToggleDiagnostics,
    /// The display name field changed.
    Name(String),
    CopyInvite,
    InviteCopied(bool),
}

/// The meeting page.
pub(crate) struct Meeting {
    ids: Result<(UserId, RoomId), String>,
    /// The display name as typed on the pre-join page.
    name: String,
    /// Why the typed name cannot be used.
    name_error: Option<String>,
    /// Whether the invite link was copied (`None`: not tried yet).
    invite_copied: Option<bool>,
    transport: TransportPref,
    config: Option<Result<ServerConfig, String>>,
    missing: Vec<&'static str>,
    phase: Phase,
    status: Status,
    camera_on: bool,
    mic_on: bool,
    camera: Option<MediaStream>,
    mic: Option<MediaStream>,
    screen: Option<MediaStream>,
    camera_device: Option<String>,
    mic_device: Option<String>,
    devices: capture::Devices,
    media_error: Option<String>,
    call: Option<Call>,
    peers: Vec<Peer>,
    show_people: bool,
    show_diagnostics: bool,
    preview: NodeRef,
    refresh: Option<Interval>,
}

impl Component for Meeting {
    type Message = Msg;
    type Properties = MeetingProps;

    fn create(ctx: &Context<Self>) -> Self {
        let props = ctx.props();
        let user = match &props.user {
            Some(user) => UserId::new(user).map_err(|e| e.to_string()),
            None => Ok(identity::tab_user()),
        };
        let ids = user
            .and_then(|u| RoomId::new(&props.meeting).map(|r| (u, r)).map_err(|e| e.to_string()));
        // An old link names the user: that is the name unless one was typed before.
        let name = identity::remembered_name().or_else(|| props.user.clone()).unwrap_or_default();
        let transport = match query_param("transport").as_deref() {
            Some("websocket") => TransportPref::WebSocket,
            Some("webtransport") => TransportPref::WebTransport,
            _ => TransportPref::Auto,
        };
        let camera_on = query_param("video").as_deref() != Some("0");
        let mic_on = query_param("audio").as_deref() != Some("0");
        ctx.link().send_future(async { Msg::Config(config::fetch().await) });
        let missing = capture::missing_features();
        let meeting = Self {
            ids,
            name,
            name_error: None,
            invite_copied: None,
            transport,
            config: None,
            missing,
            phase: Phase::Prejoin,
            status: Status::Connecting,
            camera_on,
            mic_on,
            camera: None,
            mic: None,
            screen: None,
            camera_device: None,
            mic_device: None,
            devices: capture::Devices::default(),
            media_error: None,
            call: None,
            peers: Vec::new(),
            show_people: false,
            show_diagnostics: false,
            preview: NodeRef::default(),
            refresh: None,
        };
        if meeting.missing.is_empty() {
            meeting.open_camera(ctx);
            meeting.open_mic(ctx);
        }
        meeting
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Config(config) => self.config = Some(config),
            Msg::Camera(result) => {
                let track = self.media_result(result, true).and_then(|s| capture::video_track(&s));
                if let Some(call) = &self.call {
                    self.report(call.set_camera(track));
                }
                self.list_devices(ctx);
            }
            Msg::Mic(result) => {
                let track = self.media_result(result, false).and_then(|s| capture::audio_track(&s));
                if let Some(call) = &self.call {
                    self.report(call.set_mic(track));
                }
                self.list_devices(ctx);
            }
            Msg::Screen(Ok(stream)) => {
                if let Some(old) = self.screen.replace(stream.clone()) {
                    capture::stop_all(&old);
                }
                if let Some(call) = &self.call {
                    self.report(call.set_screen(capture::video_track(&stream)));
                }
            }
            Msg::Screen(Err(error)) => self.media_error = Some(format!("Screen share: {error}")),
            Msg::Devices(devices) => self.devices = devices,
            Msg::ToggleCamera => {
                self.camera_on = !self.camera_on;
                if self.camera_on {
                    self.open_camera(ctx);
                } else {
                    self.close_camera();
                }
            }
            Msg::ToggleMic => {
                self.mic_on = !self.mic_on;
                if self.mic_on {
                    self.open_mic(ctx);
                } else {
                    self.close_mic();
                }
            }
            Msg::ToggleScreen => {
                if let Some(stream) = self.screen.take() {
                    capture::stop_all(&stream);
                    if let Some(call) = &self.call {
                        self.report(call.set_screen(None));
                    }
                } else {
                    ctx.link().send_future(async {
                        Msg::Screen(capture::display_media().await.map_err(|e| e.to_string()))
                    });
                }
            }
            Msg::SelectCamera(id) => {
                self.camera_device = Some(id);
                if self.camera_on {
                    self.close_camera();
                    self.open_camera(ctx);
                }
            }
            Msg::SelectMic(id) => {
                self.mic_device = Some(id);
                if self.mic_on {
                    self.close_mic();
                    self.open_mic(ctx);
                }
            }
            Msg::SelectSpeaker(id) => {
                if let Some(call) = &self.call {
                    call.set_speaker(&id);
                }
            }
            Msg::Join | Msg::Rejoin => self.join(ctx),
            Msg::Leave => self.leave(),
            Msg::Client(event) => self.handle_event(event),
            Msg::Refresh => {}
            Msg::TogglePeople => self.show_people = !self.show_people,
            Msg::ToggleDiagnostics => self.show_diagnostics = !self.show_diagnostics,
            Msg::Name(name) => {
                self.name = name;
                self.name_error = None;
            }
            Msg::CopyInvite => {
                let link = self.invite_link();
                ctx.link().send_future(async move { Msg::InviteCopied(copy(&link).await) });
            }
            Msg::InviteCopied(copied) => self.invite_copied = Some(copied),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        view::page(self, ctx)
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        // The preview element is re-created when the layout changes: keep it fed.
        if let Some(video) = self.preview.cast::<web_sys::HtmlVideoElement>() {
            let current = video.src_object();
            if current.as_ref() != self.camera.as_ref() {
                video.set_src_object(self.camera.as_ref());
            }
        }
    }

    fn destroy(&mut self, _ctx: &Context<Self>) {
        self.leave();
        self.close_camera();
        self.close_mic();
    }
}

impl Meeting {
    fn open_camera(&self, ctx: &Context<Self>) {
        let device = self.camera_device.clone();
        ctx.link().send_future(async move {
            let stream = capture::user_media(Some(device.as_deref()), None).await;
            Msg::Camera(stream.map_err(|e| e.to_string()))
        });
    }

    fn open_mic(&self, ctx: &Context<Self>) {
        let device = self.mic_device.clone();
        ctx.link().send_future(async move {
            let stream = capture::user_media(None, Some(device.as_deref())).await;
            Msg::Mic(stream.map_err(|e| e.to_string()))
        });
    }

    fn close_camera(&mut self) {
        if let Some(stream) = self.camera.take() {
            capture::stop_all(&stream);
        }
        if let Some(call) = &self.call {
            let _ = call.set_camera(None);
        }
    }

    fn close_mic(&mut self) {
        if let Some(stream) = self.mic.take() {
            capture::stop_all(&stream);
        }
        if let Some(call) = &self.call {
            let _ = call.set_mic(None);
        }
    }

    /// Keeps a newly opened stream (unless the user switched it off meanwhile).
    fn media_result(
        &mut self,
        result: Result<MediaStream, String>,
        video: bool,
    ) -> Option<MediaStream> {
        let stream = match result {
            Ok(stream) => stream,
            Err(error) => {
                let what = if video { "Camera" } else { "Microphone" };
                self.media_error = Some(format!("{what}: {error}"));
                if video {
                    self.camera_on = false
                } else {
                    self.mic_on = false
                }
                return None;
            }
        };
        let wanted = if video { self.camera_on } else { self.mic_on };
        let slot = if video { &mut self.camera } else { &mut self.mic };
        if !wanted {
            capture::stop_all(&stream);
            return None;
        }
        if let Some(old) = slot.replace(stream.clone()) {
            capture::stop_all(&old);
        }
        Some(stream)
    }

    fn report(&mut self, result: Result<(), String>) {
        if let Err(error) = result {
            self.media_error = Some(error);
        }
    }

    fn list_devices(&self, ctx: &Context<Self>) {
        ctx.link()
            .send_future(async { Msg::Devices(capture::devices().await.unwrap_or_default()) });
    }

    fn options(&self) -> Result<ClientOptions, String> {
        let (user, room) = self.ids.clone()?;
        let config = match &self.config {
            Some(Ok(config)) => config,
            Some(Err(error)) => return Err(error.clone()),
            None => return Err("still loading the server's settings".into()),
        };
        let parse = |url: &str| url::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"));
        let websocket = parse(&config.websocket_url)?;
        let webtransport = match &config.webtransport_url {
            Some(url) if capture::has_webtransport() => Some(parse(url)?),
            _ => None,
        };
        let cert_hash = config.certificate_hash();
        let transport = match (self.transport, webtransport) {
            (TransportPref::WebSocket, _) | (TransportPref::Auto, None) => {
                TransportChoice::WebSocket { url: websocket }
            }
            (TransportPref::WebTransport, Some(url)) => {
                TransportChoice::WebTransport { url, cert_hash }
            }
            (TransportPref::WebTransport, None) => {
                return Err("WebTransport is not available here".into());
            }
            (TransportPref::Auto, Some(url)) => {
                TransportChoice::Auto { webtransport: url, cert_hash, websocket }
            }
        };
        let mut options = ClientOptions::new(user, room, transport);
        options.name = Some(DisplayName::new(&self.name).map_err(|e| e.to_string())?);
        Ok(options)
    }

    /// The link that brings others into this meeting: the meeting only, each guest types a
    /// name.
    pub(crate) fn invite_link(&self) -> String {
        let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
        let room = self.ids.as_ref().map(|(_, room)| room.to_string()).unwrap_or_default();
        format!("{origin}/meeting/{room}")
    }

    fn join(&mut self, ctx: &Context<Self>) {
        match DisplayName::new(&self.name) {
            Ok(name) => identity::remember_name(name.as_str()),
            Err(error) => {
                self.name_error = Some(error.to_string());
                return;
            }
        }
        let options = match self.options() {
            Ok(options) => options,
            Err(error) => {
                self.status = Status::Failed(error);
                return;
            }
        };
        let codec = match self.config.as_ref().and_then(|c| c.as_ref().ok()) {
            Some(config) if config.video_codec == "vp8" => VideoCodec::Vp8,
            _ => VideoCodec::Vp9,
        };
        let camera = VideoSettings { codec, ..VideoSettings::camera() };
        let on_event = ctx.link().callback(Msg::Client);
        let call = match Call::start(options, camera, on_event) {
            Ok(call) => call,
            Err(error) => {
                self.status = Status::Failed(error);
                return;
            }
        };
        probe::watch(&call.state());
        let camera = self.camera.as_ref().and_then(capture::video_track);
        let mic = self.mic.as_ref().and_then(capture::audio_track);
        let screen = self.screen.as_ref().and_then(capture::video_track);
        let results = [call.set_camera(camera), call.set_mic(mic), call.set_screen(screen)];
        for result in results {
            self.report(result);
        }
        self.call = Some(call);
        self.phase = Phase::Joined;
        self.status = Status::Connecting;
        self.peers.clear();
        let link = ctx.link().clone();
        self.refresh = Some(Interval::new(REFRESH_MS, move || link.send_message(Msg::Refresh)));
    }

    fn leave(&mut self) {
        self.call = None;
        self.refresh = None;
        self.peers.clear();
        if let Some(stream) = self.screen.take() {
            capture::stop_all(&stream);
        }
        if self.phase == Phase::Joined {
            self.phase = Phase::Left;
        }
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Connected { transport, participants, .. } => {
                self.status = Status::Connected(transport.as_str());
                for peer in participants {
                    self.add_peer(peer);
                }
            }
            Event::PeerJoined(peer) => self.add_peer(peer),
            Event::PeerLeft { peer, .. } => self.peers.retain(|p| p.key != peer.key),
            Event::PeerFlags { peer, flags } => {
                if let Some(p) = self.peers.iter_mut().find(|p| p.key == peer) {
                    p.flags = flags;
                }
            }
            Event::Disconnected { reason, will_retry } => {
                if !will_retry {
                    self.status = Status::Failed(match reason {
                        Some(CloseReason::InvalidId) => {
                            "the server refused this name or meeting id".into()
                        }
                        Some(reason) => reason.description().into(),
                        None => "the connection was lost".into(),
                    });
                }
            }
            Event::ConnectFailed { error, will_retry: false, .. } => {
                self.status = Status::Failed(error)
            }
            Event::Reconnecting { attempt, delay } => {
                self.status = Status::Reconnecting { attempt, seconds: delay.as_secs_f64() };
            }
            Event::ServerError { text, .. } => self.media_error = Some(format!("Server: {text}")),
            Event::MuteRequested(MediaType::AUDIO) => {
                if self.mic_on {
                    self.mic_on = false;
                    self.close_mic();
                }
                self.media_error =
                    Some("The host muted your microphone. Unmute when you want to speak.".into());
            }
            Event::MuteRequested(_) => {}
            Event::ConnectFailed { .. } | Event::Packet { .. } | Event::KeyframeRequested(_) => {}
        }
    }

    /// Whether `peer` is audibly speaking now.
    fn is_speaking(&self, peer: &PeerKey) -> bool {
        let Some(call) = &self.call else { return false };
        let state = call.state();
        let Ok(mut state) = state.try_borrow_mut() else { return false };
        state.peer_stats(peer).audio_level > SPEAKING_LEVEL
    }

    /// Adds a peer, or updates its name and role (the server may announce them after its
    /// media arrived).
    fn add_peer(&mut self, info: PeerInfo) {
        match self.peers.iter_mut().find(|p| p.key == info.key) {
            Some(peer) => {
                peer.name = info.name;
                peer.host = info.host;
            }
            None => self.peers.push(Peer {
                key: info.key,
                user: info.user,
                name: info.name,
                host: info.host,
                flags: MediaFlags::default(),
            }),
        }
    }
}

/// Copies `text` to the clipboard; false when the browser refuses (no permission, no secure
/// context).
async fn copy(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let promise = window.navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

/// A query parameter of the page URL.
fn query_param(name: &str) -> Option<String> {
    let href = web_sys::window()?.location().href().ok()?;
    web_sys::Url::new(&href).ok()?.search_params().get(name)
}
