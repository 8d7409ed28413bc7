//! The few raw libvpx calls shared by the encoder and the decoder.

use std::ffi::CStr;

use vpx_sys as sys;

use super::Codec;

/// The encoder interface of `codec`.
pub(super) fn encoder_iface(codec: Codec) -> *mut sys::vpx_codec_iface_t {
    // SAFETY: these functions take no arguments and return pointers to static tables.
    unsafe {
        match codec {
            Codec::Vp8 => sys::vpx_codec_vp8_cx(),
            Codec::Vp9 => sys::vpx_codec_vp9_cx(),
        }
    }
}

/// The decoder interface of `codec`.
pub(super) fn decoder_iface(codec: Codec) -> *mut sys::vpx_codec_iface_t {
    // SAFETY: as above, static tables.
    unsafe {
        match codec {
            Codec::Vp8 => sys::vpx_codec_vp8_dx(),
            Codec::Vp9 => sys::vpx_codec_vp9_dx(),
        }
    }
}

/// libvpx's text for `err`, plus the context's detail when it has one.
pub(super) fn describe(ctx: &mut sys::vpx_codec_ctx_t, err: sys::vpx_codec_err_t) -> String {
    // SAFETY: vpx_codec_err_to_string returns a static NUL-terminated string for any code.
    let text = unsafe { CStr::from_ptr(sys::vpx_codec_err_to_string(err)) };
    let mut message = text.to_string_lossy().into_owned();
    // SAFETY: `ctx` is a valid (possibly uninitialised-by-failure) context; libvpx returns
    // either NULL or a NUL-terminated string it owns, which we copy at once.
    let detail = unsafe { sys::vpx_codec_error_detail(ctx) };
    if !detail.is_null() {
        // SAFETY: non-NULL, NUL-terminated, owned by the context and alive during this call.
        let detail = unsafe { CStr::from_ptr(detail) };
        message.push_str(": ");
        message.push_str(&detail.to_string_lossy());
    }
    message
}
