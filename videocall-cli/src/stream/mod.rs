//! `videocall-cli stream`: capture (or draw) → newest-wins mailbox → real-time encoder →
//! client, plus audio, a live status line and a clean shutdown.
//!
//! Threads: capture, encoder and audio each run on their own OS thread (libvpx and libopus
//! are blocking CPU work); the client's driver and the event loop run on tokio.

pub mod audio;
pub mod counters;
pub mod slot;
pub mod video;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use videocall_client::{Client, ClientHandle, Event};
use videocall_types::MediaType;

use crate::args::StreamArgs;
use crate::audio::microphone::MicrophoneError;
use crate::audio::opus::OpusError;
use crate::camera::{self, CameraError};
use crate::connect::{self, ConnectError};
use crate::session::{self, Lifecycle, SessionError};
use crate::vpx::{EncoderConfig, VpxError};
use audio::AudioSource;
use counters::Counters;
use video::VideoSource;

/// Why streaming could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Neither a camera nor the test pattern was chosen.
    #[error(
        "no video source: pass --video-device-index (see `info --list-cameras`) or --test-pattern"
    )]
    NoVideoSource,
    /// Bad server, id or certificate flags.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The client could not be built from the URL.
    #[error("bad --url: {0}")]
    Url(#[from] videocall_client::lobby::LobbyError),
    /// The camera failed.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// The microphone failed.
    #[error(transparent)]
    Microphone(#[from] MicrophoneError),
    /// The video encoder refused its configuration.
    #[error(transparent)]
    Video(#[from] VpxError),
    /// The audio encoder failed.
    #[error(transparent)]
    Audio(#[from] OpusError),
    /// The meeting connection failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A worker thread could not start.
    #[error("cannot start the {0} thread")]
    Thread(&'static str),
    /// The camera stopped delivering pictures.
    #[error("the camera stopped delivering pictures")]
    CameraStopped,
}

/// What the worker threads share.
#[derive(Debug, Clone)]
struct Shared {
    handle: ClientHandle,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    force_keyframe: Arc<AtomicBool>,
    start: Instant,
}

/// Microseconds since the Unix epoch (the `MediaPacket.timestamp` unit).
fn wall_clock_us() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Spawns a named thread that runs `init`, reports its result back, then runs `body` with what
/// `init` made (devices and codecs are often not `Send`, so they are made on their thread).
fn spawn_worker<S, I, B>(
    name: &'static str,
    init: I,
    body: B,
) -> Result<JoinHandle<()>, StreamError>
where
    I: FnOnce() -> Result<S, StreamError> + Send + 'static,
    B: FnOnce(S) + Send + 'static,
{
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || match init() {
            Ok(state) => {
                let _ = ready_tx.send(Ok(()));
                body(state);
            }
            Err(e) => {
                let _ = ready_tx.send(Err(e));
            }
        })
        .map_err(|_| StreamError::Thread(name))?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(e)
        }
        Err(_) => Err(StreamError::Thread(name)),
    }
}

/// Stops and joins the worker threads when dropped, also on error paths.
struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a media thread panicked");
            }
        }
    }
}

/// Runs `stream` until Ctrl-C, SIGTERM, `--duration`, or a fatal error; returns the summary.
pub async fn run(args: StreamArgs) -> Result<String, StreamError> {
    let video_source = if args.test_pattern {
        VideoSource::Pattern
    } else {
        let wanted = args.video_device_index.as_deref().ok_or(StreamError::NoVideoSource)?;
        VideoSource::Camera { index: camera::resolve(wanted)?.index, format: args.frame_format }
    };
    let audio_source = match (&args.audio_device, args.test_pattern) {
        (Some(name), _) => Some(AudioSource::Microphone(name.clone())),
        (None, true) => Some(AudioSource::Tone),
        (None, false) => None,
    };
    let options = connect::options(args.user_id.as_deref(), None, &args.meeting)?;
    let url = connect::display_url(&args.meeting.url);
    let (handle, mut events, driver) = Client::new(options)?;
    let shared = Shared {
        handle: handle.clone(),
        counters: Arc::default(),
        stop: Arc::default(),
        failed: Arc::default(),
        force_keyframe: Arc::new(AtomicBool::new(true)),
        start: Instant::now(),
    };
    let config = EncoderConfig {
        codec: args.codec,
        size: args.resolution,
        fps: args.fps,
        bitrate_kbps: args.bitrate_kbps,
        keyframe_interval: args.keyframe_interval,
        threads: args
            .encoder_threads
            .unwrap_or_else(|| EncoderConfig::default_threads(args.codec, args.resolution)),
        cpu_used: args.cpu_used,
    };
    // Devices and codecs are opened before connecting, so their errors come first.
    let mut workers = Workers { stop: shared.stop.clone(), threads: Vec::new() };
    workers.threads.extend(video::start(video_source, config, &shared)?);
    if let Some(source) = audio_source.clone() {
        workers.threads.push(audio::start(source, args.audio_bitrate_kbps, &shared)?);
    }
    handle.set_enabled(true, audio_source.is_some(), false);
    tracing::info!(url, codec = %config.codec, size = %config.size, fps = config.fps, kbps = config.bitrate_kbps, audio = ?audio_source, "streaming");
    let driver = tokio::spawn(driver);

    let mut lifecycle = Lifecycle::new(url);
    let status = Status::new(args.meeting.quiet);
    let second = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + second, second);
    let mut last = (shared.counters.snapshot(), Instant::now());
    let signal = session::shutdown_signal();
    let deadline = session::deadline(args.meeting.duration);
    tokio::pin!(signal, deadline);
    let outcome = loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break Ok(()) };
                if let Err(e) = lifecycle.on_event(&event) {
                    break Err(e.into());
                }
                on_event(&event, &shared);
            }
            _ = tick.tick() => {
                if shared.failed.load(Ordering::Acquire) {
                    break Err(StreamError::CameraStopped);
                }
                let now = (shared.counters.snapshot(), Instant::now());
                status.show(&now.0.status_line(&last.0, now.1 - last.1, lifecycle.transport_name()));
                last = now;
            }
            signal = &mut signal => {
                match signal {
                    Ok(name) => tracing::info!(signal = name, "stopping"),
                    Err(e) => break Err(e.into()),
                }
                break Ok(());
            }
            () = &mut deadline => break Ok(()),
        }
    };
    status.finish();
    tokio::task::block_in_place(|| drop(workers));
    crate::session::leave(&handle, driver).await;
    let elapsed = shared.start.elapsed();
    outcome.map(|()| shared.counters.snapshot().summary(elapsed, lifecycle.transport_name()))
}

fn on_event(event: &Event, shared: &Shared) {
    match event {
        // A new connection: receivers need a key frame to start from.
        Event::Connected { .. } => shared.force_keyframe.store(true, Ordering::Release),
        Event::KeyframeRequested(MediaType::VIDEO) => {
            Counters::bump(&shared.counters.keyframe_requests);
            shared.force_keyframe.store(true, Ordering::Release);
            tracing::debug!("key frame requested");
        }
        _ => {}
    }
}

/// The live status line on stderr: rewritten in place on a terminal, a log line every ten
/// seconds otherwise, nothing with `--quiet`.
struct Status {
    quiet: bool,
    terminal: bool,
    shown: std::cell::Cell<u64>,
}

impl Status {
    fn new(quiet: bool) -> Self {
        Self { quiet, terminal: std::io::stderr().is_terminal(), shown: std::cell::Cell::new(0) }
    }

    fn show(&self, line: &str) {
        let n = self.shown.get();
        self.shown.set(n + 1);
        if self.quiet {
        } else if self.terminal {
            eprint!("\r{line}\x1b[K");
        } else if n.is_multiple_of(10) {
            tracing::info!(status = line);
        }
    }

    fn finish(&self) {
        if !self.quiet && self.terminal && self.shown.get() > 0 {
            eprintln!();
        }
    }
}
