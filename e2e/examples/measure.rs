//! Measures the browser app in headless Chromium against the all-in-one server on loopback:
//!
//! - time from clicking join to the first remote frame drawn (the page's own clock), median and
//!   spread over several joins, over WebTransport and over WebSocket;
//! - the gzipped size of the wasm bundle;
//! - CPU of a meeting of four pages (all Chromium processes, from `/proc`), per page.
//!
//! Prints a table and writes `e2e/MEASUREMENTS.md`. Run with `make ui` done first:
//! `cargo run -p e2e --example measure [runs]`. Numbers, not assertions.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::{Browser, Page, Server, Transport, TransportChoice, live_processes_in_group};
use serde_json::Value;

/// Joins per transport when no count is given.
const DEFAULT_RUNS: usize = 7;

/// How long the four-page meeting is sampled.
const CPU_WINDOW: Duration = Duration::from_secs(20);

/// The first-frame time (ms) `page` reports for `peer`, once it has one.
async fn first_video_ms(page: &Page, peer: &str) -> anyhow::Result<Option<f64>> {
    let script = "return window.videocallState ? window.videocallState() : null";
    let Value::String(json) = page.eval(script, vec![]).await? else { return Ok(None) };
    let state: Value = serde_json::from_str(&json)?;
    let peers = state["peers"].as_array().cloned().unwrap_or_default();
    Ok(peers.iter().find(|p| p["user"] == peer).and_then(|p| p["first_video_ms"].as_f64()))
}

/// Polls until `page` has drawn a frame of `peer`.
async fn wait_first_frame(page: &Page, peer: &str) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(ms) = first_video_ms(page, peer).await? {
            return Ok(ms);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let script = "return window.videocallState ? window.videocallState() : null";
    let state = page.eval(script, vec![]).await?;
    bail!("no frame of {peer} after 30 s; state: {state}")
}

/// Join-to-first-frame times (ms) of `runs` fresh participants joining a publishing `host`.
async fn join_times(
    browser: &Browser,
    server: &Server,
    transport: Transport,
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let room = format!("measure-{}", transport.as_str());
    let host = browser.page(server).await?;
    host.open_meeting("host", &room, TransportChoice::Auto).await?;
    host.join().await?;
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let guest = browser.page(server).await?;
        let name = format!("guest{run}");
        guest.open_meeting(&name, &room, TransportChoice::Only(transport)).await?;
        guest.join().await?;
        times.push(wait_first_frame(&guest, "host").await?);
        guest.close().await?;
    }
    host.close().await?;
    Ok(times)
}

/// Seconds of CPU (user + system) used so far by the processes of `group`.
fn cpu_seconds(group: u32) -> f64 {
    let ticks: u64 = live_processes_in_group(group)
        .into_iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| {
            // Fields after the command name (which may hold spaces) start at ") ".
            let rest = stat.rsplit_once(") ")?.1;
            let fields: Vec<&str> = rest.split(' ').collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .sum();
    ticks as f64 / 100.0 // USER_HZ is 100 on Linux
}

/// CPU share of one core per page, while `pages` pages talk in one meeting.
async fn meeting_cpu(server: &Server, pages: usize) -> anyhow::Result<f64> {
    let browser = Browser::start().await?;
    let mut open = Vec::new();
    for n in 0..pages {
        let page = browser.page(server).await?;
        page.open_meeting(&format!("p{n}"), &format!("cpu{pages}"), TransportChoice::Auto).await?;
        page.join().await?;
        open.push(page);
    }
    // Steady state if the machine can reach it; on two cores four software VP9 encoders and
    // twelve decoders may not, and the CPU is measured all the same.
    for (n, page) in open.iter().enumerate() {
        for other in (0..pages).filter(|o| *o != n) {
            if let Err(error) = wait_first_frame(page, &format!("p{other}")).await {
                println!("p{n}: {error}");
            }
        }
    }
    let before = cpu_seconds(browser.process_group());
    tokio::time::sleep(CPU_WINDOW).await;
    let used = cpu_seconds(browser.process_group()) - before;
    for page in open {
        page.close().await?;
    }
    Ok(used / CPU_WINDOW.as_secs_f64() / pages as f64 * 100.0)
}

fn summary(times: &mut [f64]) -> String {
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let (min, max) = (times[0], times[times.len() - 1]);
    format!("{median:.0} ms (min {min:.0}, max {max:.0}, n={})", times.len())
}

fn gzipped_wasm() -> anyhow::Result<(u64, u64)> {
    let wasm = e2e::app_dir()?.join("pkg/yew-ui_bg.wasm");
    let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let output = std::process::Command::new("gzip")
        .arg("-9c")
        .arg(&wasm)
        .output()
        .context("running gzip")?;
    Ok((bytes.len() as u64, output.stdout.len() as u64))
}

fn shell(command: &str) -> String {
    std::process::Command::new("sh")
        .args(["-c", command])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let runs = std::env::args().nth(1).map_or(Ok(DEFAULT_RUNS), |n| n.parse())?.max(1);
    let server = Server::app(|_| {}).await?;
    let browser = Browser::start().await?;
    let mut webtransport = join_times(&browser, &server, Transport::WebTransport, runs).await?;
    println!("WebTransport join → first frame (ms): {webtransport:?}");
    let mut websocket = join_times(&browser, &server, Transport::WebSocket, runs).await?;
    println!("WebSocket join → first frame (ms): {websocket:?}");
    drop(browser);
    let cpu2 = meeting_cpu(&server, 2).await?;
    let cpu4 = meeting_cpu(&server, 4).await?;
    let (wasm, gzipped) = gzipped_wasm()?;

    let mut report = String::new();
    writeln!(report, "# Browser app measurements\n")?;
    writeln!(report, "Generated by `cargo run -p e2e --example measure {runs}`.\n")?;
    writeln!(report, "- commit: `{}`", shell("git rev-parse --short HEAD"))?;
    writeln!(report, "- machine: {} cores, {}", shell("nproc"), shell("uname -sr"))?;
    writeln!(report, "- browser: {}", shell("chromium --version"))?;
    writeln!(report, "- load during the run: {}\n", shell("cat /proc/loadavg"))?;
    writeln!(report, "| measurement | value |\n|---|---|")?;
    writeln!(
        report,
        "| join → first remote frame, WebTransport | {} |",
        summary(&mut webtransport)
    )?;
    writeln!(report, "| join → first remote frame, WebSocket | {} |", summary(&mut websocket))?;
    writeln!(report, "| wasm bundle | {wasm} bytes, {gzipped} gzipped |")?;
    for (pages, cpu) in [(2, cpu2), (4, cpu4)] {
        writeln!(
            report,
            "| CPU per page, {pages}-page meeting (640x480 VP9 + Opus) | {cpu:.0}% of one core |"
        )?;
    }
    writeln!(
        report,
        "\nJoin time is measured by the page itself: from the join click to the first frame of \
         the other participant drawn on its canvas (connect, Welcome, key frame, decode, draw). \
         CPU counts every Chromium process (browser, renderer, GPU, audio) over {} s.",
        CPU_WINDOW.as_secs()
    )?;
    print!("{report}");
    let path = e2e::repo_root().join("e2e/MEASUREMENTS.md");
    std::fs::write(&path, report).with_context(|| format!("writing {}", path.display()))?;
    println!("\nwritten to {}", path.display());
    Ok(())
}
