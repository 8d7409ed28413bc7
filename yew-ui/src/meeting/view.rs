//! What the meeting page looks like in each phase.

use videocall_client::web::media::canvas_id;
use videocall_types::MediaType;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::{Meeting, Msg, Phase, Status};

/// The whole page.
pub(super) fn page(meeting: &Meeting, ctx: &Context<Meeting>) -> Html {
    let body = match (&meeting.ids, meeting.phase.clone()) {
        (Err(error), _) => html! {
            <main class="page narrow">
                <h1>{ "This meeting link is not valid" }</h1>
                <p class="error">{ error }</p>
                <p><a href="/">{ "Choose a name and a meeting" }</a></p>
            </main>
        },
        (Ok(_), Phase::Prejoin) => prejoin(meeting, ctx),
        (Ok(_), Phase::Joined) => call(meeting, ctx),
        (Ok(_), Phase::Left) => html! {
            <main class="page narrow">
                <h1>{ "You left the meeting" }</h1>
                <div class="buttons">
                    <button id="rejoin-button" class="primary" onclick={ctx.link().callback(|_| Msg::Rejoin)}>{ "Rejoin" }</button>
                    <a class="button" href="/">{ "Home" }</a>
                </div>
            </main>
        },
    };
    html! {
        <>
            if !meeting.missing.is_empty() {
                <div class="banner error" id="unsupported" role="alert">
                    { "This browser cannot join meetings: it lacks " }
                    { meeting.missing.join(", ") }
                    { ". Use a current Chrome, Edge or Firefox." }
                </div>
            }
            if let Some(error) = &meeting.media_error {
                <div class="banner warning" role="status">{ error }</div>
            }
            { body }
        </>
    }
}

fn prejoin(meeting: &Meeting, ctx: &Context<Meeting>) -> Html {
    let link = ctx.link();
    let room = meeting.ids.as_ref().map(|(_, room)| room.to_string()).unwrap_or_default();
    let on_name = link.callback(|e: InputEvent| {
        let input = e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        Msg::Name(input.map(|i| i.value()).unwrap_or_default())
    });
    let ready = matches!(meeting.config, Some(Ok(_))) && meeting.missing.is_empty();
    let select = |msg: fn(String) -> Msg| {
        link.callback(move |e: Event| {
            let value =
                e.target().and_then(|t| t.dyn_into::<HtmlSelectElement>().ok()).map(|s| s.value());
            msg(value.unwrap_or_default())
        })
    };
    html! {
        <main class="page prejoin">
            <section class="preview">
                <video ref={meeting.preview.clone()} id="local-preview" autoplay=true muted=true playsinline=true />
                if !meeting.camera_on {
                    <div class="placeholder">{ initial(&meeting.name) }</div>
                }
                <div class="preview-controls">
                    { toggles(meeting, ctx, false) }
                </div>
            </section>
            <section class="join">
                <h1>{ "Ready to join?" }</h1>
                <p>{ "Meeting " }<strong id="meeting-id">{ &room }</strong></p>
                <label for="name-input">{ "Your name" }</label>
                <input id="name-input" value={meeting.name.clone()} oninput={on_name}
                    placeholder="Ada Lovelace" maxlength="64" autocomplete="name" />
                if let Some(error) = &meeting.name_error {
                    <p class="error" id="name-error" role="alert">{ "Name: " }{ error }</p>
                }
                <label for="camera-select">{ "Camera" }</label>
                <select id="camera-select" onchange={select(Msg::SelectCamera)}>
                    { for meeting.devices.cameras.iter().map(|d| html! { <option value={d.id.clone()}>{ label(&d.label, "Camera") }</option> }) }
                </select>
                <label for="mic-select">{ "Microphone" }</label>
                <select id="mic-select" onchange={select(Msg::SelectMic)}>
                    { for meeting.devices.microphones.iter().map(|d| html! { <option value={d.id.clone()}>{ label(&d.label, "Microphone") }</option> }) }
                </select>
                if !meeting.devices.speakers.is_empty() {
                    <label for="speaker-select">{ "Speaker" }</label>
                    <select id="speaker-select" onchange={select(Msg::SelectSpeaker)}>
                        { for meeting.devices.speakers.iter().map(|d| html! { <option value={d.id.clone()}>{ label(&d.label, "Speaker") }</option> }) }
                    </select>
                }
                if let Some(Err(error)) = &meeting.config {
                    <p class="error" role="alert">{ "Cannot load the server's settings: " }{ error }</p>
                }
                if let Status::Failed(error) = &meeting.status {
                    <p class="error" role="alert">{ error }</p>
                }
                <button id="join-button" class="primary" disabled={!ready} onclick={link.callback(|_| Msg::Join)}>
                    { if ready { "Join now" } else { "Loading…" } }
                </button>
            </section>
        </main>
    }
}

fn call(meeting: &Meeting, ctx: &Context<Meeting>) -> Html {
    let link = ctx.link();
    let count = meeting.peers.len() + meeting.peers.iter().filter(|p| p.flags.screen).count() + 1;
    let columns = (count as f64).sqrt().ceil().max(1.0) as usize;
    let style = format!("--columns: {columns}");
    html! {
        <main class="page call">
            { status(&meeting.status) }
            <div class="stage">
                <section class="grid" id="grid" {style}>
                    <div class="tile self" data-peer="self">
                        <video ref={meeting.preview.clone()} id="local-preview" autoplay=true muted=true playsinline=true />
                        if !meeting.camera_on {
                            <div class="placeholder">{ "You" }</div>
                        }
                        <span class="name">{ "You" }{ if meeting.mic_on { "" } else { " (muted)" } }</span>
                    </div>
                    { for meeting.peers.iter().map(|peer| html! {
                        <div class={classes!("tile", meeting.is_speaking(&peer.key).then_some("speaking"))}
                            key={canvas_id(MediaType::VIDEO, &peer.key)} data-peer={peer.user.clone()}>
                            <canvas class="video" id={canvas_id(MediaType::VIDEO, &peer.key)} />
                            if !peer.flags.video {
                                <div class="placeholder">{ initial(&peer.name) }</div>
                            }
                            <span class="name" title={peer.user.clone()}>
                                { &peer.name }
                                if peer.host {
                                    <span class="badge">{ "host" }</span>
                                }
                                <span class={classes!("mic", (!peer.flags.audio).then_some("off"))}
                                    title={ if peer.flags.audio { "microphone on" } else { "microphone off" } }>
                                    { if peer.flags.audio { "🎙" } else { "🔇" } }
                                </span>
                            </span>
                        </div>
                    }) }
                    { for meeting.peers.iter().filter(|p| p.flags.screen).map(|peer| html! {
                        <div class="tile screen" key={canvas_id(MediaType::SCREEN, &peer.key)} data-peer={peer.user.clone()}>
                            <canvas class="video" id={canvas_id(MediaType::SCREEN, &peer.key)} />
                            <span class="name">{ format!("{}'s screen", peer.name) }</span>
                        </div>
                    }) }
                </section>
                if meeting.show_people {
                    { people(meeting) }
                }
                if meeting.show_diagnostics {
                    { diagnostics(meeting) }
                }
            </div>
            <nav class="controls">
                { toggles(meeting, ctx, true) }
                <button id="invite-button" onclick={link.callback(|_| Msg::CopyInvite)}
                    title={meeting.invite_link()}>
                    { match meeting.invite_copied {
                        Some(true) => "Link copied",
                        Some(false) => "Copy failed: see People",
                        None => "Copy invite link",
                    } }
                </button>
                <button id="people-button" onclick={link.callback(|_| Msg::TogglePeople)}>
                    { format!("People ({})", meeting.peers.len() + 1) }
                </button>
                <button id="diagnostics-button" onclick={link.callback(|_| Msg::ToggleDiagnostics)}>{ "Diagnostics" }</button>
                <button id="leave-button" class="danger" onclick={link.callback(|_| Msg::Leave)}>{ "Leave" }</button>
            </nav>
        </main>
    }
}

/// Mic and camera toggles (and screen share in a call).
fn toggles(meeting: &Meeting, ctx: &Context<Meeting>, in_call: bool) -> Html {
    let link = ctx.link();
    html! {
        <>
            <button id="mic-button" class={classes!((!meeting.mic_on).then_some("off"))}
                aria-pressed={meeting.mic_on.to_string()} onclick={link.callback(|_| Msg::ToggleMic)}>
                { if meeting.mic_on { "Mute" } else { "Unmute" } }
            </button>
            <button id="camera-button" class={classes!((!meeting.camera_on).then_some("off"))}
                aria-pressed={meeting.camera_on.to_string()} onclick={link.callback(|_| Msg::ToggleCamera)}>
                { if meeting.camera_on { "Stop video" } else { "Start video" } }
            </button>
            if in_call {
                <button id="screen-button" aria-pressed={meeting.screen.is_some().to_string()}
                    onclick={link.callback(|_| Msg::ToggleScreen)}>
                    { if meeting.screen.is_some() { "Stop sharing" } else { "Share screen" } }
                </button>
            }
        </>
    }
}

fn status(status: &Status) -> Html {
    match status {
        Status::Connected(_) => html! {},
        Status::Connecting => {
            html! { <div class="banner info" id="status">{ "Connecting…" }</div> }
        }
        Status::Reconnecting { attempt, seconds } => html! {
            <div class="banner warning" id="status" role="status">
                { format!("Connection lost. Reconnecting in {seconds:.1} s (attempt {attempt})…") }
            </div>
        },
        Status::Failed(error) => html! {
            <div class="banner error" id="status" role="alert">{ format!("Disconnected: {error}") }</div>
        },
    }
}

fn people(meeting: &Meeting) -> Html {
    html! {
        <aside class="panel" id="people-panel">
            <h2>{ "People" }</h2>
            <label for="invite-link">{ "Invite link" }</label>
            <input id="invite-link" readonly=true value={meeting.invite_link()} />
            <ul>
                <li>{ "You" }{ format!(" ({})", meeting.name) }</li>
                { for meeting.peers.iter().map(|p| html! {
                    <li title={p.user.clone()}>
                        { &p.name }
                        { if p.host { " (host)" } else { "" } }
                        <small>
                            { if p.flags.audio { " · mic" } else { "" } }
                            { if p.flags.video { " · camera" } else { "" } }
                            { if p.flags.screen { " · sharing" } else { "" } }
                        </small>
                    </li>
                }) }
            </ul>
        </aside>
    }
}

fn diagnostics(meeting: &Meeting) -> Html {
    let Some(call) = &meeting.call else { return html! {} };
    let transport = call.transport().map_or("not connected", |t| t.as_str());
    let client = call.stats();
    let state = call.state();
    let mut state = state.borrow_mut();
    let camera = state.camera.as_ref().map(|c| (c.stats(), c.settings()));
    let mic = state.mic.as_ref().map(|m| m.stats());
    let peers: Vec<_> = state.peers.clone();
    let rows: Vec<Html> = peers
        .iter()
        .map(|(key, user)| {
            let s = state.peer_stats(key);
            html! {
                <tr>
                    <td>{ user }</td>
                    <td>{ format!("{:.0}", s.video_fps) }</td>
                    <td>{ format!("{:.0}", s.video_kbps) }</td>
                    <td>{ s.video_lost }</td>
                    <td>{ format!("{:.0}", s.audio_kbps) }</td>
                    <td>{ s.malformed }</td>
                </tr>
            }
        })
        .collect();
    html! {
        <aside class="panel" id="diagnostics-panel">
            <h2>{ "Diagnostics" }</h2>
            <p>{ "Transport: " }<strong id="transport">{ transport }</strong></p>
            if let Some((stats, settings)) = camera {
                <p>
                    { format!("Camera: {} {}x{}, {:.0} fps, {:.0} kbit/s (target {} kbit/s), {} dropped",
                        settings.codec.webcodecs(), stats.width, stats.height, stats.fps, stats.kbps,
                        stats.target_bitrate / 1000, stats.dropped) }
                </p>
            }
            if let Some(stats) = mic {
                <p>{ format!("Microphone: Opus, {:.0} kbit/s", stats.kbps) }</p>
            }
            <p>{ format!("Packets sent {}, received {}, malformed {}, reconnects {}, dropped {}",
                client.sent, client.received, client.malformed, client.reconnects,
                client.dropped_outgoing + client.dropped_events) }</p>
            <table>
                <thead><tr><th>{ "Peer" }</th><th>{ "fps" }</th><th>{ "kbit/s" }</th><th>{ "lost" }</th><th>{ "audio kbit/s" }</th><th>{ "bad" }</th></tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
        </aside>
    }
}

/// The first letter of a name, for a tile without video.
fn initial(name: &str) -> String {
    name.chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_default()
}

fn label(label: &str, fallback: &str) -> String {
    if label.is_empty() { fallback.to_owned() } else { label.to_owned() }
}
