//! Who this browser is in meetings: the display name people typed (remembered across visits in
//! `localStorage`) and, for invite links that name only the meeting, a random user id kept for
//! the tab's life (`sessionStorage`, so two tabs are two participants and a reload rejoins as the
//! same one).

use videocall_types::UserId;

const NAME_KEY: &str = "videocall.name";
const USER_KEY: &str = "videocall.user";

/// Letters for random ids (no look-alikes such as 0/O, 1/l).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// The display name typed last time, if any.
pub(crate) fn remembered_name() -> Option<String> {
    local()?.get_item(NAME_KEY).ok().flatten().filter(|name| !name.trim().is_empty())
}

/// Remembers `name` for the next meeting (best effort: private modes may refuse).
pub(crate) fn remember_name(name: &str) {
    if let Some(storage) = local() {
        let _ = storage.set_item(NAME_KEY, name);
    }
}

/// This tab's user id for meetings joined by invite link: made once, then kept.
pub(crate) fn tab_user() -> UserId {
    let session = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    let kept = session.as_ref().and_then(|s| s.get_item(USER_KEY).ok().flatten());
    if let Some(user) = kept.and_then(|id| UserId::new(&id).ok()) {
        return user;
    }
    let id = format!("guest-{}", random_letters(10));
    if let Some(session) = session {
        let _ = session.set_item(USER_KEY, &id);
    }
    // Letters from ALPHABET after a valid prefix: always a valid id.
    // ok: "guest" is a constant valid id; no input reaches this fallback.
    UserId::new(&id).unwrap_or_else(|_| UserId::new("guest").expect("a valid id"))
}

/// `count` random letters of [`ALPHABET`], from the browser's CSPRNG when there is one.
pub(crate) fn random_letters(count: usize) -> String {
    let mut bytes = vec![0u8; count];
    let crypto = web_sys::window().and_then(|w| w.crypto().ok());
    if let Some(crypto) = crypto {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    } else {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
