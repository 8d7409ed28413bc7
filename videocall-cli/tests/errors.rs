//! Bad arguments, missing devices and unreachable servers end with one clear `error:` line and
//! a non-zero exit status, never a panic.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Cli, Finished};

fn assert_fails_with(run: &Finished, code: i32, message: &str) {
    assert_eq!(run.status.code(), Some(code), "stderr:\n{}", run.stderr);
    let error_lines: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "one error line in:\n{}", run.stderr);
    assert!(error_lines[0].contains(message), "{:?} does not say {message:?}", error_lines[0]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
}

const JOIN: [&str; 7] =
    ["stream", "--url", "ws://127.0.0.1:9", "--user-id", "u", "--meeting-id", "m"];

fn stream(extra: &[&str]) -> Finished {
    Cli::run(&[&JOIN[..], extra].concat())
}

#[test]
fn a_bad_resolution_is_refused_by_the_parser() {
    assert_fails_with(&stream(&["--test-pattern", "--resolution", "1281x720"]), 2, "--resolution");
}

#[test]
fn an_unknown_camera_names_what_there_is() {
    assert_fails_with(
        &stream(&["--video-device-index", "3"]),
        1,
        "no camera \"3\" (no cameras found)",
    );
}

#[test]
fn an_unknown_microphone_is_an_error() {
    let run = stream(&["--test-pattern", "--audio-device", "no-such-mic"]);
    assert_fails_with(&run, 1, "no audio input device named \"no-such-mic\"");
}

#[test]
fn an_unreachable_server_is_an_error_not_a_retry_loop() {
    let run = stream(&["--test-pattern", "--resolution", "160x120"]);
    assert_fails_with(&run, 1, "cannot connect to ws://127.0.0.1:9/ over websocket");
}

#[test]
fn bad_ids_urls_and_hashes_are_errors() {
    let bad_user =
        Cli::run(&["record", "--url", "ws://h", "--meeting-id", "m", "--user-id", "a.b"]);
    assert_fails_with(&bad_user, 1, "--user-id \"a.b\"");
    let bad_scheme = Cli::run(&["record", "--url", "ftp://h", "--meeting-id", "m"]);
    assert_fails_with(&bad_scheme, 1, "use https://");
    let bad_hash =
        Cli::run(&["record", "--url", "https://h", "--meeting-id", "m", "--cert-hash", "xyz"]);
    assert_fails_with(&bad_hash, 1, "--cert-hash must be 64 hex digits");
}

#[test]
fn info_says_clearly_when_there_are_no_cameras() {
    let run = Cli::run(&["info", "--list-cameras"]);
    assert!(run.status.success(), "{}", run.stderr);
    // This machine kind has no camera; with one attached the list names it instead.
    if !std::path::Path::new("/dev/video0").exists() {
        assert_eq!(run.stdout, "no cameras found\n");
    }
    let formats = Cli::run(&["info", "--list-formats", "5"]);
    if !std::path::Path::new("/dev/video0").exists() {
        assert_fails_with(&formats, 1, "no camera \"5\" (no cameras found)");
    }
}
