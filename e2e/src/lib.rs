//! Harness for end-to-end tests of the browser app in real headless Chromium (and Firefox ESR,
//! [`Firefox`]).
//!
//! A test starts the all-in-one server in-process on free ports ([`Server`]), a chromedriver
//! ([`Browser`]), and one Chromium session per participant ([`Page`]), then drives the app
//! through the DOM contract (`#join-button`, `div.tile[data-peer]`, …) and reads its status
//! from `window.videocallState()` ([`State`]). Every wait is a liveness limit that fails with
//! a description and the last thing seen ([`wait_until`]), never a performance assertion.
//!
//! Everything started is stopped in `Drop`: the server's thread, chromedriver's whole process
//! group (and with it every Chromium it launched), and the temporary profiles.

mod browser;
pub mod dom;
mod firefox;
mod page;
mod server;
mod state;
mod wait;

use std::path::PathBuf;
use std::time::Duration;

pub use browser::{Browser, live_processes_in_group};
pub use firefox::Firefox;
pub use page::{MeetingOptions, Page, TransportChoice};
pub use server::{Server, app_dir, repo_root};
pub use state::{PeerState, Sent, State, Transport};
pub use wait::{Check, wait_until};

/// Why the harness could not do what a test asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The browser app has not been built into `yew-ui/dist`.
    #[error("the browser app is not built: {0} is missing (run `make ui` first)")]
    UiNotBuilt(PathBuf),
    /// A program or thread could not be started.
    #[error("starting {what}: {source}")]
    Spawn {
        /// What was being started.
        what: &'static str,
        /// The operating system's answer.
        source: std::io::Error,
    },
    /// chromedriver did not come up.
    #[error("chromedriver: {0}")]
    Chromedriver(String),
    /// The server did not come up.
    #[error("server: {0}")]
    Server(String),
    /// chromedriver refused to start a browser session.
    #[error("new browser session: {0}")]
    Session(Box<fantoccini::error::NewSessionError>),
    /// A WebDriver command failed.
    #[error("webdriver: {0}")]
    Command(Box<fantoccini::error::CmdError>),
    /// The page answered something the contract does not allow.
    #[error("unexpected answer for {what}: {value}")]
    Unexpected {
        /// What was asked.
        what: String,
        /// What came back.
        value: String,
    },
    /// A liveness limit passed before the awaited condition held.
    #[error("timed out after {timeout:?} waiting until {desc}; last seen: {last}")]
    Timeout {
        /// The awaited condition.
        desc: String,
        /// The limit.
        timeout: Duration,
        /// The last observation, for diagnosis.
        last: String,
    },
    /// Local I/O failed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl From<fantoccini::error::NewSessionError> for Error {
    fn from(error: fantoccini::error::NewSessionError) -> Self {
        Self::Session(Box::new(error))
    }
}

impl From<fantoccini::error::CmdError> for Error {
    fn from(error: fantoccini::error::CmdError) -> Self {
        Self::Command(Box::new(error))
    }
}
