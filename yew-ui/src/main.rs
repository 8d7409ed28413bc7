//! The videocall browser app: a home page to pick a name and a meeting, and the meeting page
//! (pre-join preview, participant grid, controls, diagnostics) over `videocall-client`.
//!
//! Browser-only: built for `wasm32-unknown-unknown` by `scripts/build-ui.sh` (`make ui`).

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod config;
#[cfg(target_arch = "wasm32")]
mod home;
#[cfg(target_arch = "wasm32")]
mod identity;
#[cfg(target_arch = "wasm32")]
mod meeting;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("yew-ui runs in browsers: build it with `make ui` (scripts/build-ui.sh)");
    std::process::exit(2);
}
