//! The synthetic moving picture sent with `--test-pattern`: colour bars that scroll sideways and
//! a white square that moves down, so motion (and a frozen picture) is easy to see.

use super::frame::{I420, Size};

/// BT.601 studio-range (Y, U, V) of white, yellow, cyan, green, magenta, red, blue, black.
const BARS: [(u8, u8, u8); 8] = [
    (235, 128, 128),
    (210, 16, 146),
    (170, 166, 16),
    (145, 54, 34),
    (106, 202, 222),
    (81, 90, 240),
    (41, 240, 110),
    (16, 128, 128),
];

/// Pixels the bars move per frame.
const BAR_STEP: u32 = 4;
/// Pixels the square moves per frame.
const SQUARE_STEP: u32 = 2;

/// Draws frame number `index` of the pattern into `frame`; the same index always gives the same
/// picture.
pub fn draw(frame: &mut I420, index: u64) {
    let Size { width, height } = frame.size();
    let (w, h) = (width as usize, height as usize);
    // Bars: one row of luma and one of chroma, copied to every row.
    let offset = (index.wrapping_mul(u64::from(BAR_STEP)) % u64::from(width)) as usize;
    let bar = |x: usize| BARS[((x + offset) % w) * BARS.len() / w];
    let (y_plane, u_plane, v_plane) = frame.planes_mut();
    let luma: Vec<u8> = (0..w).map(|x| bar(x).0).collect();
    let u_row: Vec<u8> = (0..w / 2).map(|x| bar(2 * x).1).collect();
    let v_row: Vec<u8> = (0..w / 2).map(|x| bar(2 * x).2).collect();
    for row in y_plane.chunks_exact_mut(w) {
        row.copy_from_slice(&luma);
    }
    for (u, v) in u_plane.chunks_exact_mut(w / 2).zip(v_plane.chunks_exact_mut(w / 2)) {
        u.copy_from_slice(&u_row);
        v.copy_from_slice(&v_row);
    }
    // A white square, an eighth of the height, moving down and wrapping.
    let side = (h / 8).max(2) & !1;
    let top = (index.wrapping_mul(u64::from(SQUARE_STEP)) % (h - side + 1) as u64) as usize & !1;
    let left = (w / 2 - side / 2) & !1;
    for row in y_plane.chunks_exact_mut(w).skip(top).take(side) {
        row[left..left + side].fill(235);
    }
    let (top, left, side) = (top / 2, left / 2, side / 2);
    for plane in [u_plane, v_plane] {
        for row in plane.chunks_exact_mut(w / 2).skip(top).take(side) {
            row[left..left + side].fill(128);
        }
    }
}

/// A 440 Hz sine at 48 kHz mono, a third of full scale, continuous across calls.
#[derive(Debug, Default, Clone)]
pub struct Tone {
    sample: u64,
}

impl Tone {
    /// Sample rate of the tone.
    pub const RATE: u32 = 48_000;
    /// Frequency of the tone.
    pub const HZ: f64 = 440.0;

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out {
            let t = self.sample as f64 / f64::from(Self::RATE);
            *s = (f64::from(i16::MAX) / 3.0 * (std::f64::consts::TAU * Self::HZ * t).sin()) as i16;
            self.sample += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(index: u64) -> I420 {
        let mut f = I420::black(Size::new(64, 48).unwrap());
        draw(&mut f, index);
        f
    }

    #[test]
    fn the_pattern_moves_and_repeats_for_the_same_index() {
        assert_eq!(frame(7), frame(7));
        assert_ne!(frame(7), frame(8));
    }

    #[test]
    fn bars_scroll_left_by_four_pixels_per_frame() {
        let (a, b) = (frame(0), frame(1));
        // Row 0 is below nothing but bars until the square reaches it; compare the last row.
        let last = |f: &I420| f.y()[f.y().len() - 64..].to_vec();
        assert_eq!(last(&a)[4..], last(&b)[..60]);
        assert_eq!(last(&a)[0], 235, "the first bar is white");
    }

    #[test]
    fn the_square_is_white_and_moves_down() {
        let f = frame(3); // top = 6, side = 6, left = 29 & !1 = 28
        let y = f.y();
        assert_eq!(y[6 * 64 + 28], 235);
        assert_eq!(y[11 * 64 + 33], 235);
        assert_ne!(&y[4 * 64 + 28..4 * 64 + 34], &[235; 6], "rows above the square are bars");
        assert!(f.y().iter().all(|&v| (16..=235).contains(&v)));
    }

    #[test]
    fn the_tone_is_a_continuous_440_hz_sine() {
        let mut tone = Tone::default();
        let mut a = [0i16; 960];
        let mut b = [0i16; 960];
        tone.fill(&mut a);
        tone.fill(&mut b);
        let mut whole = Tone::default();
        let mut both = [0i16; 1920];
        whole.fill(&mut both);
        assert_eq!(&both[..960], &a);
        assert_eq!(&both[960..], &b);
        // 440 Hz over 40 ms: 17.6 periods, so 35 sign changes.
        let crossings = both.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert_eq!(crossings, 35);
        assert!(both.iter().all(|s| s.unsigned_abs() <= 10_923));
    }
}
