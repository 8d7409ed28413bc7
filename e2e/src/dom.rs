//! The DOM contract of the app: the selectors of its buttons and tiles.

/// The pre-join screen's join button.
pub const JOIN_BUTTON: &str = "#join-button";
/// Microphone on/off in the meeting.
pub const MIC_BUTTON: &str = "#mic-button";
/// Camera on/off in the meeting.
pub const CAMERA_BUTTON: &str = "#camera-button";
/// Screen share on/off in the meeting.
pub const SCREEN_BUTTON: &str = "#screen-button";
/// Leave the meeting.
pub const LEAVE_BUTTON: &str = "#leave-button";
/// The display name field of the pre-join screen.
pub const NAME_INPUT: &str = "#name-input";
/// Why the typed name was refused, on the pre-join screen.
pub const NAME_ERROR: &str = "#name-error";
/// Copies the invite link; its `title` is the link.
pub const INVITE_BUTTON: &str = "#invite-button";
/// The name label of the first remote participant's camera tile.
pub const FIRST_PEER_NAME: &str = "div.tile:not(.self):not(.screen) .name";

/// The camera tile of remote participant `user`.
pub fn tile(user: &str) -> String {
    format!(r#"div.tile[data-peer="{user}"]:not(.screen)"#)
}

/// The canvas of `user`'s camera tile.
pub fn tile_canvas(user: &str) -> String {
    format!("{} canvas.video", tile(user))
}

/// The screen share tile of remote participant `user`.
pub fn screen_tile(user: &str) -> String {
    format!(r#"div.tile.screen[data-peer="{user}"]"#)
}

/// The canvas of `user`'s screen share tile.
pub fn screen_canvas(user: &str) -> String {
    format!("{} canvas.video", screen_tile(user))
}
