//! Encode speed of the real-time VP8/VP9 encoder on one thread, at the sizes a camera gives:
//! prints a Markdown table of frames per second.
//!
//! ```sh
//! cargo bench -p videocall-cli --bench encode
//! ```

use std::time::{Duration, Instant};

use videocall_cli::video::frame::{I420, Size};
use videocall_cli::video::pattern;
use videocall_cli::vpx::{Codec, Encoder, EncoderConfig};

/// Frames encoded per case (after a warm-up), i.e. 5 s of 30 fps video.
const FRAMES: u64 = 150;
const WARM_UP: u64 = 10;

fn main() {
    println!("| codec | size | cpu-used | kbps | fps (1 thread) | ms/frame | keyframes |");
    println!("|---|---|---|---|---|---|---|");
    for codec in [Codec::Vp8, Codec::Vp9] {
        for (width, height, kbps) in [(640, 480, 500), (1280, 720, 1200), (1920, 1080, 2500)] {
            match run(codec, width, height, kbps) {
                Ok(line) => println!("{line}"),
                Err(e) => println!("| {codec} | {width}x{height} | failed: {e} |"),
            }
        }
    }
}

fn run(codec: Codec, width: u32, height: u32, kbps: u32) -> Result<String, String> {
    let size = Size::new(width, height).map_err(|e| e.to_string())?;
    let config = EncoderConfig {
        codec,
        size,
        fps: 30,
        bitrate_kbps: kbps,
        keyframe_interval: 150,
        threads: 1,
        cpu_used: None,
    };
    let cpu_used = EncoderConfig::default_cpu_used(codec, size);
    let mut encoder = Encoder::new(config).map_err(|e| e.to_string())?;
    // Drawn beforehand so only encoding is timed; the pattern moves every frame.
    let frames: Vec<I420> = (0..30)
        .map(|i| {
            let mut frame = I420::black(size);
            pattern::draw(&mut frame, i);
            frame
        })
        .collect();
    let mut keyframes = 0;
    let mut elapsed = Duration::ZERO;
    for i in 0..WARM_UP + FRAMES {
        let frame = &frames[(i % 30) as usize];
        let pts = Duration::from_millis(i * 33);
        let started = Instant::now();
        let packets = encoder.encode(frame, pts, false).map_err(|e| e.to_string())?;
        if i >= WARM_UP {
            elapsed += started.elapsed();
            keyframes += packets.iter().filter(|p| p.keyframe).count();
        }
    }
    let fps = FRAMES as f64 / elapsed.as_secs_f64();
    let ms = elapsed.as_secs_f64() * 1000.0 / FRAMES as f64;
    Ok(format!("| {codec} | {size} | {cpu_used} | {kbps} | {fps:.0} | {ms:.1} | {keyframes} |"))
}
