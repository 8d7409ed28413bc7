//! The home page: a display name (free text, remembered) and a meeting id (checked as the
//! server checks it), or a new random meeting id. Joining goes to the meeting's invite link.

use videocall_types::{DisplayName, RoomId};
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::app::Route;
use crate::identity;

/// A fresh meeting id such as `k3xq-7mzt-a9pe`.
fn random_meeting_id() -> String {
    let letters: Vec<char> = identity::random_letters(12).chars().collect();
    letters.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

fn input_value(event: &InputEvent) -> String {
    event
        .target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

/// The home page.
#[function_component(Home)]
pub(crate) fn home() -> Html {
    let navigator = use_navigator();
    let user = use_state(|| identity::remembered_name().unwrap_or_default());
    let meeting = use_state(String::new);
    let error = use_state(|| None::<String>);

    let on_user = {
        let user = user.clone();
        Callback::from(move |e: InputEvent| user.set(input_value(&e)))
    };
    let on_meeting = {
        let meeting = meeting.clone();
        Callback::from(move |e: InputEvent| meeting.set(input_value(&e)))
    };
    let go = {
        let (user, error) = (user.clone(), error.clone());
        move |meeting_id: String| {
            let checked = DisplayName::new(&user).map_err(|e| format!("Name: {e}")).and_then(|n| {
                RoomId::new(&meeting_id).map(|m| (n, m)).map_err(|e| format!("Meeting id: {e}"))
            });
            match checked {
                Ok((name, room)) => {
                    error.set(None);
                    identity::remember_name(name.as_str());
                    if let Some(navigator) = &navigator {
                        navigator.push(&Route::Invite { meeting: room.as_str().into() });
                    }
                }
                Err(message) => error.set(Some(message)),
            }
        }
    };
    let on_submit = {
        let go = go.clone();
        let meeting = meeting.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            go((*meeting).clone());
        })
    };
    let on_new = {
        let meeting = meeting.clone();
        Callback::from(move |_| {
            let id = random_meeting_id();
            meeting.set(id.clone());
            go(id);
        })
    };

    html! {
        <main class="page narrow home">
            <h1>{ "videocall" }</h1>
            <p class="lead">{ "Video meetings in your browser. No account, no install." }</p>
            <form onsubmit={on_submit} id="join-form">
                <label for="user-input">{ "Your name" }</label>
                <input id="user-input" value={(*user).clone()} oninput={on_user}
                    placeholder="Ada Lovelace" maxlength="64" autocomplete="name" required=true />
                <label for="meeting-input">{ "Meeting id" }</label>
                <input id="meeting-input" value={(*meeting).clone()} oninput={on_meeting}
                    placeholder="team-standup" maxlength="64" />
                <p class="hint">{ "Meeting ids: letters, digits, _ and -, up to 64 characters." }</p>
                if let Some(message) = &*error {
                    <p class="error" role="alert">{ message }</p>
                }
                <div class="buttons">
                    <button type="submit" id="go-button" class="primary">{ "Join meeting" }</button>
                    <button type="button" id="new-meeting-button" onclick={on_new}>{ "New meeting" }</button>
                </div>
            </form>
        </main>
    }
}
