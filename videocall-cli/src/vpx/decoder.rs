//! The decoder: VP8/VP9 frames to I420 pictures.

use std::os::raw::{c_int, c_uint};

use vpx_sys as sys;

use super::{Codec, VpxError, ffi};
use crate::video::frame::{I420, Size};

/// A libvpx decoder context. Not `Send`: create it on the thread that uses it.
pub struct Decoder {
    /// Boxed so its address stays fixed for libvpx.
    ctx: Box<sys::vpx_codec_ctx_t>,
    codec: Codec,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("codec", &self.codec).finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder for `codec` using `threads` threads.
    pub fn new(codec: Codec, threads: u32) -> Result<Self, VpxError> {
        let cfg = sys::vpx_codec_dec_cfg_t { threads: threads.max(1) as c_uint, w: 0, h: 0 };
        // SAFETY: an all-zero context is the documented "not yet initialised" state.
        let mut ctx: Box<sys::vpx_codec_ctx_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: ctx and cfg are valid for the call; the interface is a static table and the
        // ABI version is the one the bindings were generated for.
        let err = unsafe {
            sys::vpx_codec_dec_init_ver(
                &mut *ctx,
                ffi::decoder_iface(codec),
                &cfg,
                0,
                sys::VPX_DECODER_ABI_VERSION as c_int,
            )
        };
        if err != sys::VPX_CODEC_OK {
            return Err(VpxError::Config { codec, message: ffi::describe(&mut ctx, err) });
        }
        Ok(Self { ctx, codec })
    }

    /// The codec decoded.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Decodes one compressed frame and returns the pictures it shows (usually one; none for
    /// a frame that is not shown).
    pub fn decode(&mut self, data: &[u8]) -> Result<Vec<I420>, VpxError> {
        let codec = self.codec;
        let len = c_uint::try_from(data.len())
            .map_err(|_| VpxError::Decode { codec, message: "frame too large".into() })?;
        // SAFETY: ctx is initialised; `data` is valid for `len` bytes during the call and
        // libvpx copies what it keeps.
        let err = unsafe {
            sys::vpx_codec_decode(&mut *self.ctx, data.as_ptr(), len, std::ptr::null_mut(), 0)
        };
        if err != sys::VPX_CODEC_OK {
            return Err(VpxError::Decode { codec, message: ffi::describe(&mut self.ctx, err) });
        }
        let mut pictures = Vec::with_capacity(1);
        let mut iter: sys::vpx_codec_iter_t = std::ptr::null();
        loop {
            // SAFETY: ctx is initialised; `iter` is the iterator state libvpx expects.
            let image = unsafe { sys::vpx_codec_get_frame(&mut *self.ctx, &mut iter) };
            // SAFETY: NULL or an image owned by ctx, valid until the next decode call.
            let Some(image) = (unsafe { image.as_ref() }) else { break };
            pictures.push(copy_out(image)?);
        }
        Ok(pictures)
    }
}

/// Copies a decoded 8-bit I420 image into a packed [`I420`].
fn copy_out(image: &sys::vpx_image_t) -> Result<I420, VpxError> {
    if image.fmt != sys::vpx_img_fmt::VPX_IMG_FMT_I420 {
        return Err(VpxError::Format(format!("decoded picture is {:?}, not I420", image.fmt)));
    }
    let size = Size::new(image.d_w, image.d_h).map_err(|e| VpxError::Format(e.to_string()))?;
    let mut out = I420::black(size);
    let (w, h) = (size.width as usize, size.height as usize);
    let (y, u, v) = out.planes_mut();
    for (plane, dst, pw, ph) in [(0, y, w, h), (1, u, w / 2, h / 2), (2, v, w / 2, h / 2)] {
        let stride = usize::try_from(image.stride[plane])
            .map_err(|_| VpxError::Format("negative stride".into()))?;
        if stride < pw || image.planes[plane].is_null() {
            return Err(VpxError::Format("decoded plane is smaller than the picture".into()));
        }
        for (row, line) in dst.chunks_exact_mut(pw).enumerate().take(ph) {
            // SAFETY: libvpx's plane holds at least `ph` rows of `stride >= pw` bytes (checked
            // above), valid until the next decode call; one row is copied at a time.
            let src =
                unsafe { std::slice::from_raw_parts(image.planes[plane].add(row * stride), pw) };
            line.copy_from_slice(src);
        }
    }
    Ok(out)
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in `new` and is destroyed exactly once, here.
        unsafe {
            sys::vpx_codec_destroy(&mut *self.ctx);
        }
    }
}
