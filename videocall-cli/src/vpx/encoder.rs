//! The real-time encoder: one packet out for every frame in, key frames on demand.

use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::time::Duration;

use vpx_sys as sys;

use super::{Codec, VpxError, ffi};
use crate::video::frame::{I420, Size};

/// What to encode and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// VP8 or VP9.
    pub codec: Codec,
    /// Picture size; every frame must have it.
    pub size: Size,
    /// Nominal frame rate (sets the frame duration the rate control assumes).
    pub fps: u32,
    /// Target bitrate in kbit/s (constant bitrate).
    pub bitrate_kbps: u32,
    /// At most this many frames between key frames.
    pub keyframe_interval: u32,
    /// Encoder threads.
    pub threads: u32,
    /// libvpx speed (`cpu-used`); `None` picks one for the picture size.
    pub cpu_used: Option<i32>,
}

impl EncoderConfig {
    /// The speed used when none is given: faster for larger pictures so that a small machine
    /// (a Raspberry Pi) keeps up. VP8 accepts 0–16 in real time, VP9 5–9.
    pub fn default_cpu_used(codec: Codec, size: Size) -> i32 {
        let tier = match size.pixels() {
            p if p <= 640 * 480 => 0,
            p if p <= 1280 * 720 => 1,
            _ => 2,
        };
        match codec {
            Codec::Vp8 => [6, 8, 10][tier],
            Codec::Vp9 => [7, 8, 9][tier],
        }
    }

    /// The thread count used when none is given. libvpx's VP8 threads wait for each other by
    /// spinning, which at small sizes costs more than it saves (measured: 640x480 VP8 with two
    /// threads on a busy 2-core machine used 6x the CPU and dropped 5x the frames of one).
    pub fn default_threads(codec: Codec, size: Size) -> u32 {
        match codec {
            Codec::Vp8 if size.pixels() <= 640 * 480 => 1,
            _ => 2,
        }
    }

    fn cpu_used(&self) -> i32 {
        self.cpu_used.unwrap_or_else(|| Self::default_cpu_used(self.codec, self.size))
    }
}

/// One compressed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// The VP8/VP9 bitstream of the frame.
    pub data: Vec<u8>,
    /// Whether decoding can start here.
    pub keyframe: bool,
    /// Presentation time in milliseconds, as given to [`Encoder::encode`].
    pub pts_ms: i64,
}

/// A libvpx encoder context. Not `Send`: create it on the thread that uses it.
pub struct Encoder {
    /// Boxed so its address stays fixed for libvpx.
    ctx: Box<sys::vpx_codec_ctx_t>,
    config: EncoderConfig,
    frame_ms: c_ulong,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for `config`.
    pub fn new(config: EncoderConfig) -> Result<Self, VpxError> {
        let codec = config.codec;
        let refused = |message: String| VpxError::Config { codec, message };
        if config.fps == 0 || config.bitrate_kbps == 0 {
            return Err(refused("fps and bitrate must be positive".into()));
        }
        let iface = ffi::encoder_iface(codec);
        let mut cfg = MaybeUninit::<sys::vpx_codec_enc_cfg_t>::zeroed();
        // SAFETY: `iface` is a valid static encoder interface and `cfg` points to writable
        // memory of the right type, which libvpx fills in completely on success.
        let err = unsafe { sys::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0) };
        if err != sys::VPX_CODEC_OK {
            return Err(refused(format!("no default configuration ({err:?})")));
        }
        // SAFETY: initialised by the successful call above.
        let mut cfg = unsafe { cfg.assume_init() };
        apply(&mut cfg, &config);

        // SAFETY: an all-zero context is the documented "not yet initialised" state.
        let mut ctx: Box<sys::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: ctx and cfg are valid for the call; the ABI version is the one the bindings
        // were generated for.
        let err = unsafe {
            sys::vpx_codec_enc_init_ver(
                &mut *ctx,
                iface,
                &cfg,
                0,
                sys::VPX_ENCODER_ABI_VERSION as c_int,
            )
        };
        if err != sys::VPX_CODEC_OK {
            // Nothing to destroy: libvpx cleans up a failed init itself.
            return Err(refused(ffi::describe(&mut ctx, err)));
        }
        let frame_ms = c_ulong::from((1000 / config.fps).max(1));
        let mut encoder = Self { ctx, config, frame_ms };
        encoder.set_controls().map_err(|e| refused(e.to_string()))?;
        Ok(encoder)
    }

    /// The configuration in use.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Encodes `frame`, shown at `pts` since the stream began; with `keyframe` set the frame is
    /// a key frame. Real-time mode with no lag returns the frame's packet at once.
    pub fn encode(
        &mut self,
        frame: &I420,
        pts: Duration,
        keyframe: bool,
    ) -> Result<Vec<EncodedFrame>, VpxError> {
        let codec = self.config.codec;
        if frame.size() != self.config.size {
            return Err(VpxError::Format(format!(
                "frame is {} but the encoder is set up for {}",
                frame.size(),
                self.config.size
            )));
        }
        let Size { width, height } = frame.size();
        let mut image = MaybeUninit::<sys::vpx_image_t>::zeroed();
        // SAFETY: vpx_img_wrap only records the pointer and strides in `image`; the buffer is a
        // tightly packed I420 picture of exactly width x height (checked by `I420`), alive and
        // unchanged until vpx_codec_encode below returns. libvpx never writes to input images,
        // so handing it a pointer derived from a shared reference is sound.
        let wrapped = unsafe {
            sys::vpx_img_wrap(
                image.as_mut_ptr(),
                sys::vpx_img_fmt::VPX_IMG_FMT_I420,
                width as c_uint,
                height as c_uint,
                1,
                frame.data().as_ptr().cast_mut(),
            )
        };
        if wrapped.is_null() {
            return Err(VpxError::Format("libvpx could not wrap the frame".into()));
        }
        let flags =
            if keyframe { sys::VPX_EFLAG_FORCE_KF as sys::vpx_enc_frame_flags_t } else { 0 };
        let pts_ms = i64::try_from(pts.as_millis()).unwrap_or(i64::MAX);
        // SAFETY: ctx is an initialised encoder and `wrapped` a valid image for this call.
        let err = unsafe {
            sys::vpx_codec_encode(
                &mut *self.ctx,
                wrapped,
                pts_ms,
                self.frame_ms,
                flags,
                c_ulong::from(sys::VPX_DL_REALTIME),
            )
        };
        if err != sys::VPX_CODEC_OK {
            return Err(VpxError::Encode { codec, message: ffi::describe(&mut self.ctx, err) });
        }
        Ok(self.drain())
    }

    /// Takes every packet libvpx has ready.
    fn drain(&mut self) -> Vec<EncodedFrame> {
        let mut out = Vec::with_capacity(1);
        let mut iter: sys::vpx_codec_iter_t = std::ptr::null();
        loop {
            // SAFETY: ctx is initialised; `iter` is the iterator state libvpx expects.
            let pkt = unsafe { sys::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter) };
            // SAFETY: libvpx returns NULL or a packet valid until the next call on ctx.
            let Some(pkt) = (unsafe { pkt.as_ref() }) else { break };
            if pkt.kind != sys::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                continue;
            }
            // SAFETY: for FRAME packets the `frame` member of the union is the active one.
            let frame = unsafe { pkt.data.frame };
            let len = usize::try_from(frame.sz).unwrap_or(0);
            let data = if frame.buf.is_null() || len == 0 {
                Vec::new()
            } else {
                // SAFETY: libvpx guarantees `buf` holds `sz` bytes until the next call on ctx;
                // they are copied out at once.
                unsafe { std::slice::from_raw_parts(frame.buf.cast::<u8>(), len) }.to_vec()
            };
            out.push(EncodedFrame {
                data,
                keyframe: frame.flags & sys::VPX_FRAME_IS_KEY != 0,
                pts_ms: frame.pts,
            });
        }
        out
    }

    fn set_controls(&mut self) -> Result<(), VpxError> {
        use sys::vp8e_enc_control_id::*;
        let mut controls = vec![
            (VP8E_SET_CPUUSED, self.config.cpu_used()),
            // Key frames at most 3x an average frame, so they do not stall the link.
            (VP8E_SET_MAX_INTRA_BITRATE_PCT, 300),
        ];
        match self.config.codec {
            Codec::Vp8 => controls.push((VP8E_SET_NOISE_SENSITIVITY, 0)),
            Codec::Vp9 => {
                let tiles = (self.config.threads.max(1)).ilog2() as i32;
                controls.extend([
                    (VP9E_SET_ROW_MT, 1),
                    (VP9E_SET_TILE_COLUMNS, tiles),
                    // Cyclic refresh: the usual adaptive quantisation for real-time video.
                    (VP9E_SET_AQ_MODE, 3),
                ]);
            }
        }
        for (id, value) in controls {
            // SAFETY: ctx is an initialised encoder; each of these controls takes one int.
            let err =
                unsafe { sys::vpx_codec_control_(&mut *self.ctx, id as c_int, value as c_int) };
            if err != sys::VPX_CODEC_OK {
                let message =
                    format!("control {id:?}={value}: {}", ffi::describe(&mut self.ctx, err));
                return Err(VpxError::Config { codec: self.config.codec, message });
            }
        }
        Ok(())
    }
}

/// Fills libvpx's configuration for real-time use.
fn apply(cfg: &mut sys::vpx_codec_enc_cfg_t, config: &EncoderConfig) {
    cfg.g_w = config.size.width;
    cfg.g_h = config.size.height;
    cfg.g_timebase = sys::vpx_rational { num: 1, den: 1000 };
    cfg.g_threads = config.threads.max(1);
    cfg.g_pass = sys::vpx_enc_pass::VPX_RC_ONE_PASS;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = sys::VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = sys::vpx_rc_mode::VPX_CBR;
    cfg.rc_target_bitrate = config.bitrate_kbps;
    cfg.rc_min_quantizer = 4;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 50;
    cfg.rc_overshoot_pct = 50;
    cfg.rc_buf_sz = 1000;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    // Never skip a frame inside the encoder: the capture queue is where frames are dropped.
    cfg.rc_dropframe_thresh = 0;
    cfg.kf_mode = sys::vpx_kf_mode::VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = config.keyframe_interval.max(1);
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in `new` and is destroyed exactly once, here.
        unsafe {
            sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}
