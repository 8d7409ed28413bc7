//! `videocall-cli record`: joins a meeting without sending media and writes every
//! participant's camera (IVF), screen (IVF) and microphone (Ogg Opus) into a directory.
//!
//! Packets are decoded on arrival (to check them and to measure the capture-to-decode delay)
//! and written as received; nothing is re-encoded. Decoding runs on the event loop inside
//! `block_in_place`, so the client's driver keeps reading meanwhile; if the recorder still
//! falls behind, the client drops packets by its own policy and the tracks see gaps.

pub mod audio_track;
pub mod recorder;
pub mod reorder;
pub mod video_track;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use videocall_client::{Client, Event};

use crate::args::RecordArgs;
use crate::connect::{self, ConnectError};
use crate::session::{self, Lifecycle, SessionError};
use recorder::Recorder;

/// Why recording could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Bad server, id or certificate flags.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The client could not be built from the URL.
    #[error("bad --url: {0}")]
    Url(#[from] videocall_client::lobby::LobbyError),
    /// The meeting connection failed.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// A file could not be written.
    #[error("writing into {dir}: {source}")]
    Io {
        /// The output directory.
        dir: String,
        /// The failure.
        source: std::io::Error,
    },
}

fn wall_clock_us() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

/// Records until Ctrl-C, SIGTERM or `--duration`; returns the summary.
pub async fn run(args: RecordArgs) -> Result<String, RecordError> {
    let dir = args.output_dir.clone();
    let io_err = |source| RecordError::Io { dir: dir.display().to_string(), source };
    let options = connect::options(args.user_id.as_deref(), Some("recorder"), &args.meeting)?;
    std::fs::create_dir_all(&dir).map_err(io_err)?;
    let url = connect::display_url(&args.meeting.url);
    let (handle, mut events, driver) = Client::new(options)?;
    handle.set_enabled(false, false, false);
    let driver = tokio::spawn(driver);
    tracing::info!(url, dir = %dir.display(), "recording");

    let started = Instant::now();
    let mut recorder = Recorder::new(&dir);
    let mut lifecycle = Lifecycle::new(url);
    let signal = session::shutdown_signal();
    let deadline = session::deadline(args.meeting.duration);
    let ten = Duration::from_secs(10);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + ten, ten);
    tokio::pin!(signal, deadline);
    let outcome: Result<(), RecordError> = loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break Ok(()) };
                if let Err(e) = lifecycle.on_event(&event) {
                    break Err(e.into());
                }
                let written = match &event {
                    Event::Packet { from, wrapper } => tokio::task::block_in_place(|| {
                        recorder.on_packet(from, wrapper, wall_clock_us)
                    }),
                    Event::PeerLeft { peer, .. } => recorder.on_left(peer),
                    _ => Ok(()),
                };
                if let Err(e) = written {
                    break Err(io_err(e));
                }
            }
            _ = tick.tick(), if !args.meeting.quiet => {
                tracing::info!(participants = recorder.live(), transport = lifecycle.transport_name(), "recording");
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
    crate::session::leave(&handle, driver).await;
    // The files are completed whatever ended the recording.
    let (unreadable, after_leaving) = (recorder.unreadable, recorder.after_leaving);
    let finished = tokio::task::block_in_place(|| recorder.finish()).map_err(io_err)?;
    outcome?;
    Ok(format!(
        "record summary: seconds={:.1} participants={} unreadable_packets={unreadable} after_leaving={after_leaving} dir={}\n{}",
        started.elapsed().as_secs_f64(),
        finished.len(),
        dir.display(),
        recorder::summary_lines(&finished).trim_end(),
    ))
}

#[cfg(test)]
mod tests;
